package runs_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/runs"
)

var (
	mergeRoot    = uuid.MustParse("0190a1b2-0000-7000-8000-0000000000a1")
	mergeParent  = uuid.MustParse("0190a1b2-0000-7000-8000-0000000000b2")
	mergeChild   = uuid.MustParse("0190a1b2-0000-7000-8000-0000000000c3")
	mergeSession = uuid.MustParse("0190a1b2-0000-7000-8000-0000000000aa")
	mergeNow     = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
)

// write is a run write: JSON members as Go values.
func write(t *testing.T, members map[string]any) runs.Object {
	t.Helper()
	data, err := runs.MarshalJSON(members)
	if err != nil {
		t.Fatal(err)
	}
	o, err := runs.ParseObject(data)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func writes(t *testing.T, ms []map[string]any) []runs.Object {
	t.Helper()
	var out []runs.Object
	for _, m := range ms {
		out = append(out, write(t, m))
	}
	return out
}

// childCreate is an LLM run two levels below mergeRoot, as the SDKs post it:
// no parent_run_ids, no token counts, no first_token_time.
func childCreate(extra map[string]any) map[string]any {
	m := map[string]any{
		"id": mergeChild.String(), "trace_id": mergeRoot.String(), "parent_run_id": mergeParent.String(),
		"session_id": mergeSession.String(), "name": "ChatModel", "run_type": "llm",
		"start_time": "2024-04-05T01:28:54.085646",
		"dotted_order": "20240405T012854085000Z" + mergeRoot.String() + ".20240405T012854085500Z" + mergeParent.String() +
			".20240405T012854085646Z" + mergeChild.String(),
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func TestMergeWithStored(t *testing.T) {
	stored, err := runs.Merge([]runs.Object{write(t, childCreate(map[string]any{"name": "stored", "tags": []string{"a"}}))}, nil, nil, mergeNow)
	if err != nil {
		t.Fatal(err)
	}
	later := mergeNow.Add(-time.Hour) // a clock behind the stored version's
	late := write(t, childCreate(map[string]any{"name": "late create", "tags": []string{}, "inputs": map[string]any{"q": 1}}))
	patch := write(t, map[string]any{"id": mergeChild.String(), "end_time": "2024-04-05T01:28:55Z", "session_id": uuid.NewString()})
	r, err := runs.Merge([]runs.Object{late}, &stored, []runs.Object{patch}, later)
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "stored" {
		t.Errorf("name = %q: the stored version outranks a late create", r.Name)
	}
	if string(r.Inputs) != `{"q":1}` || !reflect.DeepEqual(r.Tags, []string{"a"}) {
		t.Errorf("inputs %s, tags %v: a late create fills what the stored version lacks", r.Inputs, r.Tags)
	}
	if r.EndTime == nil || r.Status != "success" || r.SessionID != mergeSession {
		t.Errorf("end %v, status %q, session %s: the patch ends the run, in its project", r.EndTime, r.Status, r.SessionID)
	}
	if want := stored.ModifiedAt.Add(time.Microsecond); !r.ModifiedAt.Equal(want) {
		t.Errorf("modified_at = %v, want %v: after the stored version's", r.ModifiedAt, want)
	}
}

func TestMergeErrors(t *testing.T) {
	badTime := map[string]any{"id": mergeChild.String(), "end_time": "soon"}
	cases := []struct {
		name    string
		creates []map[string]any
		stored  bool
		patches []map[string]any
		want    runs.MergeError // Err compared by its field
		field   string
	}{
		{"the create that sent the field", []map[string]any{childCreate(nil), childCreate(map[string]any{"run_type": "agent"})}, false, nil,
			runs.MergeError{Index: 1}, "run_type"},
		{"the patch that sent the field", []map[string]any{childCreate(nil)}, false, []map[string]any{{"id": mergeChild.String()}, badTime},
			runs.MergeError{Patch: true, Index: 1}, "end_time"},
		{"a missing field is the first create's", []map[string]any{without(childCreate(nil), "name"), without(childCreate(nil), "name")}, false, nil,
			runs.MergeError{}, "name"},
		{"a bad session_name", []map[string]any{without(childCreate(map[string]any{"session_name": ""}), "session_id")}, false, nil,
			runs.MergeError{}, "session_name"},
		{"orphan patches lack the create", nil, false, []map[string]any{{"id": mergeChild.String(), "end_time": "2024-04-05T01:28:55Z"}},
			runs.MergeError{Patch: true, Unstored: true}, "session_id"},
		{"an orphan patch's bad field is named", nil, false, []map[string]any{{"id": mergeChild.String()}, badTime},
			runs.MergeError{Patch: true, Index: 1}, "end_time"},
		{"a patch over the stored version is blamed for the field it sent", nil, true,
			[]map[string]any{{"id": mergeChild.String()}, {"id": mergeChild.String(), "end_time": "2024-04-05T01:28:54Z", "start_time": "2024-04-05T01:28:56Z"}},
			runs.MergeError{Patch: true, Index: 1}, "end_time"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			creates, patches := writes(t, c.creates), writes(t, c.patches)
			var stored *runs.Run
			if c.stored {
				s, err := runs.Merge([]runs.Object{write(t, childCreate(nil))}, nil, nil, mergeNow)
				if err != nil {
					t.Fatal(err)
				}
				stored = &s
			}
			_, err := runs.Merge(creates, stored, patches, mergeNow)
			var me *runs.MergeError
			if !errors.As(err, &me) {
				t.Fatalf("err = %v (%T), want *runs.MergeError", err, err)
			}
			if me.Patch != c.want.Patch || me.Index != c.want.Index || me.Unstored != c.want.Unstored {
				t.Errorf("blamed patch=%v index=%d unstored=%v, want %+v (%v)", me.Patch, me.Index, me.Unstored, c.want, err)
			}
			var fe *runs.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Errorf("err = %v, want a field error about %s", err, c.field)
			}
		})
	}
}

func TestMergeNeedsAWrite(t *testing.T) {
	if _, err := runs.Merge(nil, nil, nil, mergeNow); err == nil {
		t.Error("Merge of no writes succeeded")
	}
}

func TestMergeLeavesWritesAlone(t *testing.T) {
	c := write(t, without(childCreate(map[string]any{"session_name": "p", "end_time": "2024-04-05T01:28:54.085"}), "session_id"))
	before := string(c.Encode())
	if _, err := runs.Merge([]runs.Object{c}, nil, nil, mergeNow); err != nil {
		t.Fatal(err)
	}
	if after := string(c.Encode()); after != before {
		t.Errorf("create changed by Merge:\n%s\n%s", before, after)
	}
}
