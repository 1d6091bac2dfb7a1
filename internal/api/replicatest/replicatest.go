// Package replicatest drives several API servers with the writes of the same
// runs at once and checks that every member sent was stored: the test of
// runhook's promise that API replicas need no lock between them.
package replicatest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/runhook/runhook/internal/runs"
)

// Write is one write of a run: a create, or a patch that sets members no
// other write of the run sets, so that each is checked apart.
type Write struct {
	ID      uuid.UUID
	Post    bool
	Members map[string]any
}

// Writes are a create and three patches for each of n runs of project, in
// an order shuffled by seed: creates first, as the SDKs send a run's create
// before its patches, though batches sent in parallel land in any order.
func Writes(n int, project string, seed uint64) []Write {
	start := time.Now().UTC().Truncate(time.Microsecond)
	var out []Write
	for i := range n {
		id := uuid.New()
		key := map[string]any{"id": id, "trace_id": id, "dotted_order": runs.DottedOrderPart(start, id)}
		with := func(m map[string]any) map[string]any {
			for k, v := range key {
				m[k] = v
			}
			return m
		}
		out = append(out,
			Write{id, true, with(map[string]any{"name": fmt.Sprintf("run-%d", i), "run_type": "chain",
				"session_name": project, "start_time": start.Format(time.RFC3339Nano),
				"inputs": map[string]any{"question": i}})},
			Write{id, false, with(map[string]any{"outputs": map[string]any{"answer": i}})},
			Write{id, false, with(map[string]any{"end_time": start.Add(time.Second).Format(time.RFC3339Nano)})},
			Write{id, false, with(map[string]any{"extra": map[string]any{"metadata": map[string]any{"n": i}},
				"tags": []string{fmt.Sprint("t", i)}})},
		)
	}
	rng := rand.New(rand.NewPCG(seed, seed))
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	// A batch holds creates or patches, not both: a batch is written whole
	// or not at all, so one that held the patch of a run and the create of
	// another could wait forever on its twin.
	slices.SortStableFunc(out, func(x, y Write) int { return cmp.Compare(rank(x), rank(y)) })
	return out
}

func rank(w Write) int {
	if w.Post {
		return 0
	}
	return 1
}

// Send posts the writes as /runs/batch requests of size each, every one to a
// server picked at random from urls, all at once. A batch answered 425 (a
// patch whose create is still in flight) is sent again, as the SDKs do.
func Send(ctx context.Context, urls []string, key string, ws []Write, size int, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	g, ctx := errgroup.WithContext(ctx)
	for i := 0; i < len(ws); i += size {
		batch := ws[i:min(i+size, len(ws))]
		url := urls[rng.IntN(len(urls))]
		g.Go(func() error { return post(ctx, url, key, batch) })
	}
	return g.Wait()
}

func post(ctx context.Context, url, key string, ws []Write) error {
	body := map[string][]map[string]any{"post": {}, "patch": {}}
	for _, w := range ws {
		if w.Post {
			body["post"] = append(body["post"], w.Members)
		} else {
			body["patch"] = append(body["patch"], w.Members)
		}
	}
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	for try := 0; ; try++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/runs/batch", bytes.NewReader(data))
		if err != nil {
			return err
		}
		req.Header.Set("x-api-key", key)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		res.Body.Close()
		switch {
		case res.StatusCode == http.StatusTooEarly && try < 500:
			time.Sleep(20 * time.Millisecond)
		case res.StatusCode >= 300:
			return fmt.Errorf("POST %s/runs/batch: status %d", url, res.StatusCode)
		default:
			return nil
		}
	}
}

// Store reads the newest version of runs (*clickhouse.Store).
type Store interface {
	LatestRuns(ctx context.Context, ids []uuid.UUID) ([]runs.Run, error)
}

// Check fails t with the first members Lost finds, and their count.
func Check(t testing.TB, store Store, ws []Write) {
	t.Helper()
	lost, err := Lost(context.Background(), store, ws)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lost[:min(5, len(lost))] {
		t.Error(l)
	}
	if len(lost) > 0 {
		t.Fatalf("%d members lost of %d writes", len(lost), len(ws))
	}
}

// Lost compares each stored run with every member sent for it, and
// describes each member not stored as sent.
func Lost(ctx context.Context, store Store, ws []Write) ([]string, error) {
	byRun := map[uuid.UUID][]Write{}
	var ids []uuid.UUID
	for _, w := range ws {
		if _, ok := byRun[w.ID]; !ok {
			ids = append(ids, w.ID)
		}
		byRun[w.ID] = append(byRun[w.ID], w)
	}
	got, err := store.LatestRuns(ctx, ids)
	if err != nil {
		return nil, err
	}
	var lost []string
	if len(got) != len(ids) {
		lost = append(lost, fmt.Sprintf("%d runs stored of %d sent", len(got), len(ids)))
	}
	for _, r := range got {
		data, err := json.Marshal(r)
		if err != nil {
			return nil, err
		}
		var stored map[string]any
		if err := json.Unmarshal(data, &stored); err != nil {
			return nil, err
		}
		for _, w := range byRun[r.ID] {
			for k, v := range w.Members {
				if !same(k, v, stored[k]) {
					lost = append(lost, fmt.Sprintf("run %s: %s = %v stored, %v sent", r.ID, k, stored[k], v))
				}
			}
		}
	}
	return lost, nil
}

// same compares a sent member with the stored one: times as instants (the
// API stores LangSmith's form, UTC without a zone), the rest as JSON.
func same(name string, sent, stored any) bool {
	switch name {
	case "session_name":
		return true // stored as session_id
	case "start_time", "end_time":
		want, err1 := time.Parse(time.RFC3339Nano, fmt.Sprint(sent))
		got, err2 := time.Parse("2006-01-02T15:04:05.999999", fmt.Sprint(stored))
		return err1 == nil && err2 == nil && want.Equal(got)
	}
	return normal(sent) == normal(stored)
}

func normal(v any) string {
	data, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(data, &out)
	return fmt.Sprint(out)
}
