package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/api"
	"github.com/runhook/runhook/internal/ingest"
	"github.com/runhook/runhook/internal/runs"
)

// apiStore keeps the newest version of each run the API writes, as the runs
// table does, and the log of run writes.
type apiStore struct {
	mu   sync.Mutex
	runs map[uuid.UUID]runs.Run
	log  map[uuid.UUID][]runs.Write
}

func (s *apiStore) InsertRunWrites(_ context.Context, ws []runs.Write) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range ws {
		w.Label = ""
		s.log[w.RunID] = append(s.log[w.RunID], w)
	}
	return nil
}

func (s *apiStore) RunWrites(_ context.Context, ids []uuid.UUID) (map[uuid.UUID][]runs.Write, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[uuid.UUID][]runs.Write{}
	for _, id := range ids {
		if ws, ok := s.log[id]; ok {
			out[id] = slices.Clone(ws)
		}
	}
	return out, nil
}

func (s *apiStore) InsertRuns(_ context.Context, rs []runs.Run) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rs {
		if old, ok := s.runs[r.ID]; !ok || !r.ModifiedAt.Before(old.ModifiedAt) {
			s.runs[r.ID] = r
		}
	}
	return nil
}

func (s *apiStore) InsertFeedback(context.Context, []runs.Feedback) error { return nil }

func (s *apiStore) LatestRuns(_ context.Context, ids []uuid.UUID) ([]runs.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []runs.Run
	for _, id := range ids {
		if r, ok := s.runs[id]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

func (s *apiStore) StoredRunIDs(_ context.Context, ids []uuid.UUID) ([]uuid.UUID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []uuid.UUID
	for _, id := range ids {
		if _, ok := s.runs[id]; ok && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// viaAPI posts a run as an SDK does: its create to POST /runs, then, when
// there is one, its end to PATCH /runs/{id}.
func viaAPI(t *testing.T, create, patch map[string]any) runs.Run {
	t.Helper()
	store := &apiStore{runs: map[uuid.UUID]runs.Run{}, log: map[uuid.UUID][]runs.Write{}}
	srv := httptest.NewServer(api.New(api.Options{
		Store: store, KeyHashes: []string{api.HashKey("k")}, Now: func() time.Time { return fixedNow },
	}))
	defer srv.Close()
	send := func(method, path string, body map[string]any) {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequest(method, srv.URL+path, bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("x-api-key", "k")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("%s %s: %s", method, path, resp.Status)
		}
	}
	send("POST", "/runs", create)
	if patch != nil {
		send("PATCH", "/runs/"+create["id"].(string), patch)
	}
	got, _ := store.LatestRuns(context.Background(), []uuid.UUID{uuid.MustParse(create["id"].(string))})
	if len(got) != 1 {
		t.Fatalf("API stored %d runs, want 1", len(got))
	}
	return got[0]
}

// viaLines loads the run as one JSON Lines line.
func viaLines(t *testing.T, line map[string]any) runs.Run {
	t.Helper()
	data, err := json.Marshal(line)
	if err != nil {
		t.Fatal(err)
	}
	w := &fakeRuns{}
	if _, err := ingest.Runs(context.Background(), w, bytes.NewReader(data), "runs.jsonl", opts(false)); err != nil {
		t.Fatal(err)
	}
	if got := w.all(); len(got) == 1 {
		return got[0]
	}
	t.Fatalf("ingest wrote %v, want 1 run", w.all())
	return runs.Run{}
}

// TestLinesStoredAsTheAPIStoresThem feeds the same runs through the API and
// through JSON Lines, as an SDK sends them (no parent_run_ids, token counts,
// first_token_time or status), and compares what is stored.
func TestLinesStoredAsTheAPIStoresThem(t *testing.T) {
	root, parent, child := id(1), id(2), id(3)
	dotted := "20240405T012854085000Z" + root.String() + ".20240405T012854085500Z" + parent.String() +
		".20240405T012854924003Z" + child.String()
	llm := func() map[string]any {
		return map[string]any{
			"id": child.String(), "trace_id": root.String(), "parent_run_id": parent.String(),
			"session_name": "my-project", "name": "ChatModel", "run_type": "llm",
			"start_time": "2024-04-05T01:28:54.924003", "dotted_order": dotted,
			"inputs": map[string]any{"prompt": "hi"},
		}
	}
	end := map[string]any{
		"end_time": "2024-04-05T01:28:54.924", // the JS SDK's millisecond end
		"outputs":  map[string]any{"usage_metadata": map[string]any{"input_tokens": 10, "output_tokens": 5}},
		"events": []any{
			map[string]any{"name": "start", "time": "2024-04-05T01:28:54.924003"},
			map[string]any{"name": "new_token", "time": "2024-04-05T01:28:54.924003"},
		},
	}
	ended := llm()
	maps.Copy(ended, end)
	failed := llm()
	failed["end_time"], failed["error"] = "2024-04-05T01:28:56Z", "boom"
	delete(failed, "session_name")

	cases := []struct {
		name          string
		create, patch map[string]any // the SDK's writes
		line          map[string]any // the same run as one line
		check         func(t *testing.T, r runs.Run)
	}{
		{"created whole", ended, nil, ended, func(t *testing.T, r runs.Run) {
			if want := []uuid.UUID{root, parent}; !reflect.DeepEqual(r.ParentRunIDs, want) {
				t.Errorf("parent_run_ids = %v, want %v (from dotted_order)", r.ParentRunIDs, want)
			}
			if r.PromptTokens != 10 || r.CompletionTokens != 5 || r.TotalTokens != 15 {
				t.Errorf("tokens %d/%d/%d, want 10/5/15 (from outputs.usage_metadata)", r.PromptTokens, r.CompletionTokens, r.TotalTokens)
			}
			if r.FirstTokenTime == nil || !r.FirstTokenTime.Equal(r.StartTime) {
				t.Errorf("first_token_time = %v, want the new_token event's %v", r.FirstTokenTime, r.StartTime)
			}
			if r.EndTime == nil || !r.EndTime.Equal(r.StartTime) {
				t.Errorf("end_time = %v, want moved up to start_time", r.EndTime)
			}
			if r.Status != "success" || r.SessionID != runs.ProjectID("my-project") {
				t.Errorf("status %q, session_id %s; want success in my-project", r.Status, r.SessionID)
			}
		}},
		{"failed, in the default project", failed, nil, failed, func(t *testing.T, r runs.Run) {
			if r.Status != "error" || r.SessionID != runs.ProjectID(runs.DefaultProject) {
				t.Errorf("status %q, session_id %s; want error in the default project", r.Status, r.SessionID)
			}
		}},
		{"created pending, then ended", func() map[string]any { c := llm(); c["status"] = "pending"; return c }(), end,
			func() map[string]any { l := maps.Clone(ended); l["status"] = "pending"; return l }(), func(t *testing.T, r runs.Run) {
				if r.Status != "success" {
					t.Errorf("status = %q, want success: a pending run that ended", r.Status)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fromAPI, fromLine := viaAPI(t, c.create, c.patch), viaLines(t, c.line)
			if c.patch != nil {
				// The API's second write sorts after its first.
				fromAPI.ModifiedAt = fromLine.ModifiedAt
			}
			if !reflect.DeepEqual(fromAPI, fromLine) {
				a, _ := fromAPI.MarshalJSON()
				l, _ := fromLine.MarshalJSON()
				t.Errorf("stored differently:\nAPI:        %s\nJSON Lines: %s", a, l)
			}
			c.check(t, fromLine)
		})
	}
}
