package api_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/api"
	"github.com/runhook/runhook/internal/api/replicatest"
	"github.com/runhook/runhook/internal/runs"
)

// Two handlers (as two bin/server replicas are: nothing in memory shared)
// over one database take the creates and patches of the same runs at once,
// each batch to either; every member sent is stored. The e2e package does
// the same with two server processes.
func TestTwoReplicasLoseNoField(t *testing.T) {
	a := newServer(t)
	b := httptest.NewServer(api.New(api.Options{Store: a.store, KeyHashes: []string{api.HashKey(testKey)},
		Logger: slog.New(slog.NewJSONHandler(a.logs, nil))}))
	t.Cleanup(b.Close)

	ctx := context.Background()
	sent := replicatest.Writes(60, "replicas", 3)
	if err := replicatest.Send(ctx, []string{a.url, b.URL}, testKey, sent, 5, 4); err != nil {
		t.Fatal(err)
	}
	replicatest.Check(t, a.store, sent)
}

// A run stored without a log (loaded from JSON Lines, or written before the
// log) keeps what it holds when patched: it is logged as the base the patch
// folds over.
func TestPatchOfARunStoredWithoutALog(t *testing.T) {
	s := newServer(t)
	id := uuid.New()
	start := time.Now().UTC().Truncate(time.Microsecond)
	loaded, err := runs.DecodeRun([]byte(fmt.Sprintf(`{"id":%q,"trace_id":%q,"session_id":%q,"name":"loaded","run_type":"llm",
		"start_time":%q,"inputs":{"q":"kept"},"tags":["jsonl"]}`, id, id, runs.ProjectID(runs.DefaultProject), start.Format(time.RFC3339Nano))), start)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.store.InsertRuns(context.Background(), []runs.Run{loaded}); err != nil {
		t.Fatal(err)
	}
	for _, patch := range []string{
		fmt.Sprintf(`{"end_time":%q,"outputs":{"a":1}}`, start.Add(time.Second).Format(time.RFC3339Nano)),
		`{"extra":{"metadata":{"m":2}}}`,
	} {
		s.want(s.do(http.MethodPatch, "/runs/"+id.String(), []byte(patch)), http.StatusAccepted)
	}
	r := s.latest(id)
	if string(r.Inputs) != `{"q":"kept"}` || r.Name != "loaded" || len(r.Tags) != 1 || r.EndTime == nil ||
		string(r.Outputs) != `{"a":1}` || string(r.Extra) != `{"metadata":{"m":2}}` {
		t.Errorf("stored run lost the loaded version or a patch: %+v", r)
	}
	var bases uint64
	if err := s.store.QueryRow(context.Background(), "SELECT count() FROM run_writes WHERE kind = 2").Scan(&bases); err != nil {
		t.Fatal(err)
	}
	if bases != 1 {
		t.Errorf("%d bases logged, want 1", bases)
	}
}
