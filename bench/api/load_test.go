package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/bench/internal/synth"
	"github.com/runhook/runhook/internal/api"
	"github.com/runhook/runhook/internal/runs"
)

func TestChunks(t *testing.T) {
	got := chunks(250, 100)
	want := [][2]int{{0, 100}, {100, 200}, {200, 250}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("chunks(250, 100) = %v, want %v", got, want)
	}
	if got := chunks(0, 100); len(got) != 0 {
		t.Fatalf("chunks(0, 100) = %v, want none", got)
	}
}

func TestBatchBody(t *testing.T) {
	rs := synth.Generate(10, 1, time.Now(), "p")
	for _, gz := range []bool{false, true} {
		req, err := batchRequest(rs, gz)
		if err != nil {
			t.Fatal(err)
		}
		body := req.body
		if gz {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		if req.raw != len(body) || req.runs != 10 || req.gzip != gz || req.path != "/runs/batch" {
			t.Fatalf("gzip %v: raw %d (body %d), runs %d, gzip %v, path %s", gz, req.raw, len(body), req.runs, req.gzip, req.path)
		}
		var top map[string][]map[string]json.RawMessage
		if err := json.Unmarshal(body, &top); err != nil {
			t.Fatal(err)
		}
		if len(top) != 1 || len(top["post"]) != 10 {
			t.Fatalf("want only post with 10 runs, got keys %d, %d posts", len(top), len(top["post"]))
		}
		if string(top["post"][3]["id"]) != `"`+rs[3].ID.String()+`"` {
			t.Fatalf("post[3].id = %s, want %s", top["post"][3]["id"], rs[3].ID)
		}
	}
}

func TestMultipartBody(t *testing.T) {
	rs := synth.Generate(3, 1, time.Now(), "p")
	req, err := multipartRequest(rs, false)
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(req.contentType)
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(bytes.NewReader(req.body), params["boundary"])
	var names []string
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(part)
		if !json.Valid(data) {
			t.Fatalf("part %s is not JSON", part.FormName())
		}
		if !strings.HasPrefix(part.Header.Get("Content-Type"), "application/json; length=") {
			t.Fatalf("part %s: Content-Type %q", part.FormName(), part.Header.Get("Content-Type"))
		}
		if strings.Count(part.FormName(), ".") == 1 {
			var head map[string]json.RawMessage
			_ = json.Unmarshal(data, &head)
			for _, f := range partFields {
				if _, ok := head[f]; ok {
					t.Fatalf("part %s still holds %s", part.FormName(), f)
				}
			}
		}
		names = append(names, part.FormName())
	}
	id := rs[0].ID.String()
	want := []string{"post." + id, "post." + id + ".inputs", "post." + id + ".outputs", "post." + id + ".events"}
	if len(names) != 12 || !reflect.DeepEqual(names[:4], want) {
		t.Fatalf("parts %v, want 12 starting %v", names, want)
	}
}

// memStore is the API's store in memory: what the handler would insert.
type memStore struct {
	mu   sync.Mutex
	runs []runs.Run
}

func (m *memStore) InsertRuns(_ context.Context, rs []runs.Run) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.runs = append(m.runs, rs...)
	return nil
}

func (m *memStore) InsertFeedback(context.Context, []runs.Feedback) error { return nil }

func (m *memStore) LatestRuns(context.Context, []uuid.UUID) ([]runs.Run, error)    { return nil, nil }
func (m *memStore) StoredRunIDs(context.Context, []uuid.UUID) ([]uuid.UUID, error) { return nil, nil }
func (m *memStore) InsertRunWrites(context.Context, []runs.Write) error            { return nil }
func (m *memStore) RunWrites(context.Context, []uuid.UUID) (map[uuid.UUID][]runs.Write, error) {
	return nil, nil
}

// TestRequestsThroughHandler sends the bench's requests to the real handler
// and checks that it accepts them and writes the rows the direct phase
// inserts, so that the two phases write the same data.
func TestRequestsThroughHandler(t *testing.T) {
	const key = "rhk_test"
	// 30 runs: four whole traces and one cut after its root and first child.
	rs := synth.Generate(30, 1, time.Now().Add(-time.Hour), "bench-test")
	cases := []struct {
		name  string
		build func([]synth.Run, bool) (request, error)
		gzip  bool
	}{
		{"batch", batchRequest, false},
		{"batch gzip", batchRequest, true},
		{"multipart", multipartRequest, false},
		{"multipart gzip", multipartRequest, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			store := &memStore{}
			srv := httptest.NewServer(api.New(api.Options{Store: store, KeyHashes: []string{api.HashKey(key)}}))
			defer srv.Close()
			reqs, err := requests(rs, 8, c.gzip, c.build)
			if err != nil {
				t.Fatal(err)
			}
			if len(reqs) != 4 {
				t.Fatalf("%d requests, want 4", len(reqs))
			}
			tm, err := measure(context.Background(), len(reqs), 3, func(ctx context.Context, i int) (int, error) {
				return reqs[i].runs, post(ctx, srv.Client(), srv.URL, key, reqs[i])
			})
			if err != nil {
				t.Fatal(err)
			}
			if tm.runs != 30 || tm.calls != 4 || len(tm.latencies) != 4 {
				t.Fatalf("timing: %d runs, %d calls, %d latencies", tm.runs, tm.calls, len(tm.latencies))
			}
			got := store.runs
			sort.Slice(got, func(i, j int) bool { return got[i].ID.String() < got[j].ID.String() })
			want := make([]runs.Run, len(rs))
			for i, r := range rs {
				if want[i], err = synth.Stored(r, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			sort.Slice(want, func(i, j int) bool { return want[i].ID.String() < want[j].ID.String() })
			if len(got) != len(want) {
				t.Fatalf("handler wrote %d runs, want %d", len(got), len(want))
			}
			for i := range want {
				g, w := got[i], want[i]
				g.ModifiedAt, w.ModifiedAt = time.Time{}, time.Time{}
				if !reflect.DeepEqual(g, w) {
					gj, _ := json.Marshal(g)
					wj, _ := json.Marshal(w)
					t.Fatalf("run %d differs:\nhandler %s\ndirect  %s", i, gj, wj)
				}
			}
		})
	}
}

func TestPostRefusal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"detail":"no"}`, http.StatusUnauthorized)
	}))
	defer srv.Close()
	req, _ := batchRequest(synth.Generate(1, 1, time.Now(), "p"), false)
	err := post(context.Background(), srv.Client(), srv.URL, "k", req)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("post to a refusing server: %v, want a 401 error", err)
	}
}
