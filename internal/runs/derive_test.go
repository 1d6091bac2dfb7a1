package runs_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/runs"
)

func TestMergeDerives(t *testing.T) {
	cases := []struct {
		name    string
		creates []map[string]any
		patches []map[string]any
		check   func(t *testing.T, r runs.Run)
	}{
		{
			name:    "parent_run_ids from dotted_order, root first",
			creates: []map[string]any{childCreate(nil)},
			check: func(t *testing.T, r runs.Run) {
				if want := []uuid.UUID{mergeRoot, mergeParent}; !reflect.DeepEqual(r.ParentRunIDs, want) {
					t.Errorf("parent_run_ids = %v, want %v", r.ParentRunIDs, want)
				}
			},
		},
		{
			name:    "sent parent_run_ids are kept",
			creates: []map[string]any{childCreate(map[string]any{"parent_run_ids": []string{mergeParent.String()}})},
			check: func(t *testing.T, r runs.Run) {
				if want := []uuid.UUID{mergeParent}; !reflect.DeepEqual(r.ParentRunIDs, want) {
					t.Errorf("parent_run_ids = %v, want %v", r.ParentRunIDs, want)
				}
			},
		},
		{
			name:    "a root run has no parent_run_ids",
			creates: []map[string]any{{"id": mergeRoot.String(), "session_id": mergeSession.String(), "name": "r", "run_type": "chain", "start_time": "2024-04-05T01:28:54Z"}},
			check: func(t *testing.T, r runs.Run) {
				if r.ParentRunIDs == nil || len(r.ParentRunIDs) != 0 {
					t.Errorf("parent_run_ids = %#v, want empty", r.ParentRunIDs)
				}
			},
		},
		{
			name:    "tokens from outputs.usage_metadata",
			creates: []map[string]any{childCreate(nil)},
			patches: []map[string]any{{"id": mergeChild.String(), "end_time": "2024-04-05T01:28:55Z",
				"outputs": map[string]any{"usage_metadata": map[string]any{"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}}}},
			check: tokens(10, 5, 15),
		},
		{
			name: "tokens from extra.metadata.usage_metadata, total summed",
			creates: []map[string]any{childCreate(map[string]any{
				"extra": map[string]any{"metadata": map[string]any{"usage_metadata": map[string]any{"input_tokens": 7, "output_tokens": 3.0}}}})},
			check: tokens(7, 3, 10),
		},
		{
			name: "tokens from outputs.llm_output.token_usage",
			creates: []map[string]any{childCreate(map[string]any{
				"outputs": map[string]any{"llm_output": map[string]any{"token_usage": map[string]any{"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}}})},
			check: tokens(1, 2, 3),
		},
		{
			name: "counted tokens win over usage",
			creates: []map[string]any{childCreate(map[string]any{"prompt_tokens": 100,
				"outputs": map[string]any{"usage_metadata": map[string]any{"input_tokens": 10, "output_tokens": 5}}})},
			check: tokens(100, 0, 0),
		},
		{
			name: "usage that is not whole numbers is ignored",
			creates: []map[string]any{childCreate(map[string]any{
				"outputs": map[string]any{"usage_metadata": map[string]any{"input_tokens": 1.5, "output_tokens": "x"}}})},
			check: tokens(0, 0, 0),
		},
		{
			name: "first_token_time from the first new_token event",
			creates: []map[string]any{childCreate(map[string]any{"events": []any{
				map[string]any{"name": "start", "time": "2024-04-05T01:28:54.1Z"},
				map[string]any{"name": "new_token", "time": "2024-04-05T01:28:54.5Z"},
				map[string]any{"name": "new_token", "time": "2024-04-05T01:28:54.6Z"},
			}})},
			check: func(t *testing.T, r runs.Run) {
				want := time.Date(2024, 4, 5, 1, 28, 54, 500000000, time.UTC)
				if r.FirstTokenTime == nil || !r.FirstTokenTime.Equal(want) {
					t.Errorf("first_token_time = %v, want %v", r.FirstTokenTime, want)
				}
			},
		},
		{
			name:    "a pending run ended by a patch succeeded",
			creates: []map[string]any{childCreate(map[string]any{"status": "pending"})},
			patches: []map[string]any{{"id": mergeChild.String(), "end_time": "2024-04-05T01:28:55Z"}},
			check:   status("success"),
		},
		{
			name:    "a running run ended with an error failed",
			creates: []map[string]any{childCreate(map[string]any{"status": "running"})},
			patches: []map[string]any{{"id": mergeChild.String(), "end_time": "2024-04-05T01:28:55Z", "error": "boom"}},
			check:   status("error"),
		},
		{
			name:    "a sent end status is kept",
			creates: []map[string]any{childCreate(map[string]any{"status": "interrupted", "end_time": "2024-04-05T01:28:55Z"})},
			check:   status("interrupted"),
		},
		{
			name: "an end in start_time's millisecond moves up to it",
			creates: []map[string]any{childCreate(map[string]any{"start_time": "2024-04-05T01:28:54.924003",
				"end_time": "2024-04-05T01:28:54.924"})},
			check: func(t *testing.T, r runs.Run) {
				if r.EndTime == nil || !r.EndTime.Equal(r.StartTime) {
					t.Errorf("end_time = %v, want start_time %v", r.EndTime, r.StartTime)
				}
			},
		},
		{
			name:    "session_name names the project",
			creates: []map[string]any{without(childCreate(map[string]any{"session_name": "my-project"}), "session_id")},
			check:   project(runs.ProjectID("my-project")),
		},
		{
			name:    "no project is the default one",
			creates: []map[string]any{without(childCreate(nil), "session_id")},
			check:   project(runs.ProjectID(runs.DefaultProject)),
		},
		{
			name:    "a patch does not move the run to another project",
			creates: []map[string]any{childCreate(nil)},
			patches: []map[string]any{{"id": mergeChild.String(), "session_name": "elsewhere"}},
			check:   project(mergeSession),
		},
		{
			name:    "a patch's null does not erase",
			creates: []map[string]any{childCreate(map[string]any{"outputs": map[string]any{"a": 1}})},
			patches: []map[string]any{{"id": mergeChild.String(), "outputs": nil, "name": "renamed"}},
			check: func(t *testing.T, r runs.Run) {
				if string(r.Outputs) != `{"a":1}` || r.Name != "renamed" {
					t.Errorf("outputs %s, name %q; want {\"a\":1}, renamed", r.Outputs, r.Name)
				}
			},
		},
		{
			name:    "modified_at is now",
			creates: []map[string]any{childCreate(nil)},
			check: func(t *testing.T, r runs.Run) {
				if !r.ModifiedAt.Equal(mergeNow) {
					t.Errorf("modified_at = %v, want %v", r.ModifiedAt, mergeNow)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			creates, patches := writes(t, c.creates), writes(t, c.patches)
			r, err := runs.Merge(creates, nil, patches, mergeNow)
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, r)
		})
	}
}

func without(m map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		delete(m, k)
	}
	return m
}

func tokens(prompt, completion, total uint64) func(*testing.T, runs.Run) {
	return func(t *testing.T, r runs.Run) {
		t.Helper()
		if r.PromptTokens != prompt || r.CompletionTokens != completion || r.TotalTokens != total {
			t.Errorf("tokens = %d/%d/%d, want %d/%d/%d", r.PromptTokens, r.CompletionTokens, r.TotalTokens, prompt, completion, total)
		}
	}
}

func status(want string) func(*testing.T, runs.Run) {
	return func(t *testing.T, r runs.Run) {
		t.Helper()
		if r.Status != want {
			t.Errorf("status = %q, want %q", r.Status, want)
		}
	}
}

func project(want uuid.UUID) func(*testing.T, runs.Run) {
	return func(t *testing.T, r runs.Run) {
		t.Helper()
		if r.SessionID != want {
			t.Errorf("session_id = %s, want %s", r.SessionID, want)
		}
	}
}

func TestNameProject(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    uuid.UUID
		wantErr bool
	}{
		{`{"session_name":"p"}`, runs.ProjectID("p"), false},
		{`{"session_name":"p","session_id":"0190a1b2-0000-7000-8000-0000000000aa"}`, uuid.MustParse("0190a1b2-0000-7000-8000-0000000000aa"), false},
		{`{}`, uuid.Nil, false},
		{`{"session_name":""}`, uuid.Nil, true},
		{`{"session_name":3}`, uuid.Nil, true},
	} {
		o, err := runs.ParseObject([]byte(c.in))
		if err != nil {
			t.Fatal(err)
		}
		err = o.NameProject()
		if (err != nil) != c.wantErr {
			t.Errorf("%s: err = %v", c.in, err)
			continue
		}
		s, _, _ := o.Text("session_id")
		got, _ := uuid.Parse(s)
		if got != c.want {
			t.Errorf("%s: session_id = %s, want %s", c.in, got, c.want)
		}
	}
}
