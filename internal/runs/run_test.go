package runs_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/runs"
)

// now is the injected clock: not UTC and with nanoseconds, so the tests see
// that DecodeRun converts and truncates it.
var now = time.Date(2025, 1, 2, 4, 4, 5, 123456789, time.FixedZone("CET", 3600))

// nowStamp is now as stored: UTC, microseconds.
var nowStamp = time.Date(2025, 1, 2, 3, 4, 5, 123456000, time.UTC)

const (
	seedID      = "6ab80f10-d79c-4fa2-b441-922ed6feb630"
	seedSession = "6a3be6a2-9a8c-4fc8-b4c6-a8983b286cc5"
	seedDotted  = "20230505T051324571809Z6ab80f10-d79c-4fa2-b441-922ed6feb630"
)

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func toMap(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	return m
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := runs.ParseTime(json.RawMessage(`"` + s + `"`))
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func ptr[T any](v T) *T { return &v }

// assertFieldsEqual checks that every key of want is in got with an equal value.
func assertFieldsEqual(t *testing.T, got, want map[string]any) {
	t.Helper()
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("field %q missing from output", k)
			continue
		}
		if !reflect.DeepEqual(g, v) {
			t.Errorf("field %q = %#v, want %#v", k, g, v)
		}
	}
}

func TestSeedRunDecodes(t *testing.T) {
	seed := readFile(t, "testdata/seed_run.json")
	r, err := runs.DecodeRun(seed, now)
	if err != nil {
		t.Fatalf("DecodeRun(seed): %v", err)
	}
	end := time.Date(2024, 4, 5, 1, 28, 54, 85649000, time.UTC)
	want := runs.Run{
		ID:                 uuid.MustParse(seedID),
		TraceID:            uuid.MustParse(seedID),
		SessionID:          uuid.MustParse(seedSession),
		TenantID:           ptr(uuid.MustParse("2ebda79f-2946-4491-a9ad-d642f49e0815")),
		Name:               "Search",
		RunType:            "tool",
		Status:             "success",
		IsRoot:             true,
		DottedOrder:        seedDotted,
		StartTime:          time.Date(2024, 4, 5, 1, 28, 54, 85646000, time.UTC),
		EndTime:            &end,
		ModifiedAt:         time.Date(2024, 4, 5, 1, 28, 54, 145062000, time.UTC),
		ParentRunIDs:       []uuid.UUID{},
		AppPath:            ptr("/o/2ebda79f-2946-4491-a9ad-d642f49e0815/projects/p/6a3be6a2-9a8c-4fc8-b4c6-a8983b286cc5/r/6ab80f10-d79c-4fa2-b441-922ed6feb630?trace_id=6ab80f10-d79c-4fa2-b441-922ed6feb630&start_time=2023-05-05T05:13:24.571809"),
		Tags:               []string{},
		ReferenceExampleID: nil,
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("decoded seed:\n got %+v\nwant %+v", r, want)
	}
}

// The seed run written back is the seed run: every field, exactly.
func TestSeedRunMarshalReproducesSeed(t *testing.T) {
	seed := readFile(t, "testdata/seed_run.json")
	r, err := runs.DecodeRun(seed, now)
	if err != nil {
		t.Fatal(err)
	}
	got := toMap(t, mustJSON(t, r))
	want := toMap(t, seed)
	assertFieldsEqual(t, got, want)

	// The seed is the documented payload's run; whatever the output has
	// beyond the seed's fields is allowed only if it is a run field of the
	// payload shape that the seed happens to leave out.
	var payload struct {
		Runs []map[string]any `json:"runs"`
	}
	if err := json.Unmarshal(readFile(t, "testdata/seed_payload.json"), &payload); err != nil {
		t.Fatal(err)
	}
	if len(payload.Runs) != 1 || !reflect.DeepEqual(payload.Runs[0], want) {
		t.Fatalf("seed_run.json is not the payload's run")
	}
	extras := map[string]any{"parent_run_id": nil, "tags": []any{}, "error": nil, "reference_example_id": nil}
	for k, v := range got {
		if _, ok := want[k]; ok {
			continue
		}
		w, ok := extras[k]
		if !ok {
			t.Errorf("output has field %q the payload shape does not have", k)
			continue
		}
		if !reflect.DeepEqual(v, w) {
			t.Errorf("extra field %q = %#v, want %#v", k, v, w)
		}
	}
}

// Decoding the run's own output gives the run back.
func TestRunMarshalDecodeRoundTrip(t *testing.T) {
	lines := [][]byte{readFile(t, "testdata/seed_run.json"), []byte(fullRunLine(t))}
	for i, line := range lines {
		r, err := runs.DecodeRun(line, now)
		if err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		back, err := runs.DecodeRun(mustJSON(t, r), now.Add(time.Hour))
		if err != nil {
			t.Fatalf("line %d: decode own output: %v", i, err)
		}
		if !reflect.DeepEqual(back, r) {
			t.Errorf("line %d: round trip differs:\n got %+v\nwant %+v", i, back, r)
		}
	}
}

func TestDottedOrderPart(t *testing.T) {
	seedUUID := uuid.MustParse(seedID)
	cases := []struct {
		name  string
		start time.Time
		id    uuid.UUID
		want  string
	}{
		{"seed", time.Date(2023, 5, 5, 5, 13, 24, 571809000, time.UTC), seedUUID, seedDotted},
		{"whole second", time.Date(2024, 4, 5, 1, 28, 54, 0, time.UTC), seedUUID, "20240405T012854000000Z" + seedID},
		{"one microsecond", time.Date(2024, 4, 5, 1, 28, 54, 1000, time.UTC), seedUUID, "20240405T012854000001Z" + seedID},
		{"nanoseconds truncated", time.Date(2024, 4, 5, 1, 28, 54, 999999999, time.UTC), seedUUID, "20240405T012854999999Z" + seedID},
		{"offset converted to UTC", time.Date(2024, 4, 5, 3, 28, 54, 85646000, time.FixedZone("", 2*3600)), seedUUID, "20240405T012854085646Z" + seedID},
		{"day boundary in UTC", time.Date(2024, 1, 1, 0, 30, 0, 0, time.FixedZone("", 3600)), seedUUID, "20231231T233000000000Z" + seedID},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := runs.DottedOrderPart(c.start, c.id); got != c.want {
				t.Errorf("DottedOrderPart = %q, want %q", got, c.want)
			}
		})
	}
}

// The seed's dotted_order encodes the start time in its app_path
// (2023-05-05T05:13:24.571809) and its id.
func TestSeedDottedOrderRelation(t *testing.T) {
	seed := toMap(t, readFile(t, "testdata/seed_run.json"))
	u, err := url.Parse(seed["app_path"].(string))
	if err != nil {
		t.Fatal(err)
	}
	start := mustTime(t, u.Query().Get("start_time"))
	id := uuid.MustParse(seed["id"].(string))
	if got := runs.DottedOrderPart(start, id); got != seed["dotted_order"] {
		t.Errorf("DottedOrderPart(%s, %s) = %q, seed has %q", start, id, got, seed["dotted_order"])
	}
	// Without dotted_order, a root run starting then derives the same one.
	delete(seed, "dotted_order")
	seed["start_time"] = "2023-05-05T05:13:24.571809"
	r, err := runs.DecodeRun(mustJSON(t, seed), now)
	if err != nil {
		t.Fatal(err)
	}
	if r.DottedOrder != seedDotted {
		t.Errorf("derived dotted_order = %q, want %q", r.DottedOrder, seedDotted)
	}
}

var (
	rootID   = uuid.MustParse("0190a1b2-0000-7000-8000-000000000001")
	childID  = uuid.MustParse("0190a1b2-0000-7000-8000-000000000002")
	childID2 = uuid.MustParse("0190a1b2-0000-7000-8000-000000000003")
	session  = uuid.MustParse("0190a1b2-0000-7000-8000-0000000000aa")
)

func minimalRoot() map[string]any {
	return map[string]any{
		"id":         rootID.String(),
		"session_id": session.String(),
		"name":       "agent",
		"run_type":   "chain",
		"start_time": "2024-04-05T01:28:54.085646",
	}
}

// fullRun is a child run with every field set to a valid value.
func fullRun() map[string]any {
	return map[string]any{
		"id":                   childID.String(),
		"trace_id":             rootID.String(),
		"session_id":           session.String(),
		"tenant_id":            "2ebda79f-2946-4491-a9ad-d642f49e0815",
		"parent_run_id":        rootID.String(),
		"reference_example_id": "0190a1b2-0000-7000-8000-0000000000ee",
		"name":                 "ChatOpenAI",
		"run_type":             "llm",
		"status":               "success",
		"is_root":              false,
		"dotted_order":         "20240405T012854085646Z" + rootID.String() + ".20240405T012854100000Z" + childID.String(),
		"start_time":           "2024-04-05T01:28:54.100000",
		"end_time":             "2024-04-05T01:28:55.000001",
		"modified_at":          "2024-04-05T01:28:55.000002",
		"first_token_time":     "2024-04-05T01:28:54.500000",
		"last_queued_at":       "2024-04-05T01:28:54.099999",
		"parent_run_ids":       []string{rootID.String()},
		"child_run_ids":        []string{childID2.String()},
		"direct_child_run_ids": []string{childID2.String()},
		"total_tokens":         30,
		"prompt_tokens":        20,
		"completion_tokens":    10,
		"total_cost":           "0.00045",
		"prompt_cost":          0.0003,
		"completion_cost":      "0.00015",
		"app_path":             "/o/x/projects/p/y/r/z",
		"in_dataset":           true,
		"tags":                 []string{"prod", "v2"},
		"error":                nil,
		"inputs":               map[string]any{"messages": []any{map[string]any{"role": "user", "content": "héllo ☃"}}},
		"outputs":              map[string]any{"generations": []any{}},
		"inputs_s3_urls":       map[string]any{"ROOT": map[string]any{"presigned_url": "https://s3/x"}},
		"outputs_s3_urls":      nil,
		"extra":                map[string]any{"metadata": map[string]any{"ls_model_name": "gpt-4o"}},
		"events":               []any{map[string]any{"name": "start", "time": "2024-04-05T01:28:54.100000"}},
		"feedback_stats":       map[string]any{"correctness": map[string]any{"n": 1, "avg": 1}},
		"serialized":           map[string]any{"lc": 1},
		"share_token":          "tok",
	}
}

func fullRunLine(t *testing.T) string { return string(mustJSON(t, fullRun())) }

func TestDecodeFullRun(t *testing.T) {
	line := mustJSON(t, fullRun())
	r, err := runs.DecodeRun(line, now)
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(2024, 4, 5, 1, 28, 55, 1000, time.UTC)
	want := runs.Run{
		ID: childID, TraceID: rootID, SessionID: session,
		TenantID:           ptr(uuid.MustParse("2ebda79f-2946-4491-a9ad-d642f49e0815")),
		ParentRunID:        ptr(rootID),
		ReferenceExampleID: ptr(uuid.MustParse("0190a1b2-0000-7000-8000-0000000000ee")),
		Name:               "ChatOpenAI", RunType: "llm", Status: "success", IsRoot: false,
		DottedOrder:       fullRun()["dotted_order"].(string),
		StartTime:         time.Date(2024, 4, 5, 1, 28, 54, 100000000, time.UTC),
		EndTime:           &end,
		ModifiedAt:        time.Date(2024, 4, 5, 1, 28, 55, 2000, time.UTC),
		FirstTokenTime:    ptr(time.Date(2024, 4, 5, 1, 28, 54, 500000000, time.UTC)),
		LastQueuedAt:      ptr(time.Date(2024, 4, 5, 1, 28, 54, 99999000, time.UTC)),
		ParentRunIDs:      []uuid.UUID{rootID},
		ChildRunIDs:       json.RawMessage(`["` + childID2.String() + `"]`),
		DirectChildRunIDs: json.RawMessage(`["` + childID2.String() + `"]`),
		TotalTokens:       30, PromptTokens: 20, CompletionTokens: 10,
		TotalCost: ptr(0.00045), PromptCost: ptr(0.0003), CompletionCost: ptr(0.00015),
		AppPath: ptr("/o/x/projects/p/y/r/z"), InDataset: true,
		Tags:          []string{"prod", "v2"},
		Inputs:        json.RawMessage(`{"messages":[{"content":"héllo ☃","role":"user"}]}`),
		Outputs:       json.RawMessage(`{"generations":[]}`),
		InputsS3URLs:  json.RawMessage(`{"ROOT":{"presigned_url":"https://s3/x"}}`),
		Extra:         json.RawMessage(`{"metadata":{"ls_model_name":"gpt-4o"}}`),
		Events:        json.RawMessage(`[{"name":"start","time":"2024-04-05T01:28:54.100000"}]`),
		FeedbackStats: json.RawMessage(`{"correctness":{"avg":1,"n":1}}`),
		Serialized:    json.RawMessage(`{"lc":1}`),
		ShareToken:    ptr("tok"),
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("decoded:\n got %+v\nwant %+v", r, want)
	}
	// Written back, every field equals the input, except the costs, which
	// LangSmith sends as decimal strings and the payload carries as numbers.
	in := toMap(t, line)
	in["total_cost"], in["completion_cost"] = 0.00045, 0.00015
	assertFieldsEqual(t, toMap(t, mustJSON(t, r)), in)
}

func TestDecodeRunDerivations(t *testing.T) {
	start := time.Date(2024, 4, 5, 1, 28, 54, 85646000, time.UTC)
	cases := []struct {
		name   string
		edit   func(m map[string]any)
		check  func(t *testing.T, r runs.Run)
		output map[string]any // fields expected in the marshaled run
	}{
		{
			name: "minimal root",
			edit: func(map[string]any) {},
			check: func(t *testing.T, r runs.Run) {
				if r.TraceID != rootID {
					t.Errorf("trace_id = %s, want the run's id %s", r.TraceID, rootID)
				}
				if !r.IsRoot {
					t.Error("is_root = false for a run without parent_run_id")
				}
				if want := runs.DottedOrderPart(start, rootID); r.DottedOrder != want {
					t.Errorf("dotted_order = %q, want %q", r.DottedOrder, want)
				}
				if r.Status != "pending" {
					t.Errorf("status = %q, want pending", r.Status)
				}
				if !r.ModifiedAt.Equal(nowStamp) || r.ModifiedAt.Location() != time.UTC {
					t.Errorf("modified_at = %v, want %v (now, UTC, µs)", r.ModifiedAt, nowStamp)
				}
				if r.Tags == nil || len(r.Tags) != 0 || r.ParentRunIDs == nil || len(r.ParentRunIDs) != 0 {
					t.Errorf("tags %#v, parent_run_ids %#v; want empty, not nil", r.Tags, r.ParentRunIDs)
				}
				if r.ChildRunIDs != nil || r.Inputs != nil || r.TotalCost != nil || r.EndTime != nil {
					t.Errorf("absent fields not null: %+v", r)
				}
			},
			output: map[string]any{
				"trace_id": rootID.String(), "is_root": true, "status": "pending",
				"dotted_order": "20240405T012854085646Z" + rootID.String(),
				"modified_at":  "2025-01-02T03:04:05.123456", "end_time": nil,
				"child_run_ids": nil, "direct_child_run_ids": nil, "tags": []any{}, "parent_run_ids": []any{},
				"inputs": nil, "total_cost": nil, "total_tokens": 0.0, "in_dataset": false, "parent_run_id": nil,
			},
		},
		{
			name:   "ended root is success",
			edit:   func(m map[string]any) { m["end_time"] = "2024-04-05T01:28:55.000000" },
			output: map[string]any{"status": "success", "end_time": "2024-04-05T01:28:55.000000"},
		},
		{
			name:   "end_time equal to start_time",
			edit:   func(m map[string]any) { m["end_time"] = m["start_time"] },
			output: map[string]any{"status": "success", "end_time": "2024-04-05T01:28:54.085646"},
		},
		{
			name: "ended with error is error",
			edit: func(m map[string]any) {
				m["end_time"], m["error"] = "2024-04-05T01:28:55.000000", "ValueError('boom')"
			},
			output: map[string]any{"status": "error", "error": "ValueError('boom')"},
		},
		{
			name:   "error without end_time is error",
			edit:   func(m map[string]any) { m["error"] = "timeout" },
			output: map[string]any{"status": "error"},
		},
		{
			name:   "null error and end_time is pending",
			edit:   func(m map[string]any) { m["error"], m["end_time"] = nil, nil },
			output: map[string]any{"status": "pending", "error": nil, "end_time": nil},
		},
		{
			name:   "explicit status kept",
			edit:   func(m map[string]any) { m["status"] = "error" },
			output: map[string]any{"status": "error", "error": nil},
		},
		{
			name:   "explicit trace_id kept on root",
			edit:   func(m map[string]any) { m["trace_id"] = childID2.String() },
			output: map[string]any{"trace_id": childID2.String(), "is_root": true},
		},
		{
			name:   "explicit dotted_order kept",
			edit:   func(m map[string]any) { m["dotted_order"] = "given" },
			output: map[string]any{"dotted_order": "given"},
		},
		{
			name: "child run",
			edit: func(m map[string]any) {
				m["id"], m["parent_run_id"], m["trace_id"] = childID.String(), rootID.String(), rootID.String()
			},
			check: func(t *testing.T, r runs.Run) {
				if r.IsRoot || r.ParentRunID == nil || *r.ParentRunID != rootID || r.TraceID != rootID {
					t.Errorf("child: is_root %v parent %v trace %s", r.IsRoot, r.ParentRunID, r.TraceID)
				}
				if r.DottedOrder != "" {
					t.Errorf("child dotted_order derived as %q without its parent's", r.DottedOrder)
				}
			},
			output: map[string]any{"is_root": false, "parent_run_id": rootID.String(), "trace_id": rootID.String(), "dotted_order": ""},
		},
		{
			name: "explicit is_root kept",
			edit: func(m map[string]any) {
				m["parent_run_id"], m["trace_id"], m["is_root"] = childID.String(), childID.String(), true
			},
			output: map[string]any{"is_root": true, "parent_run_id": childID.String()},
		},
		{
			name:   "modified_at given",
			edit:   func(m map[string]any) { m["modified_at"] = "2024-04-05T01:28:54.145062" },
			output: map[string]any{"modified_at": "2024-04-05T01:28:54.145062"},
		},
		{
			name:   "null child_run_ids stay null",
			edit:   func(m map[string]any) { m["child_run_ids"], m["direct_child_run_ids"] = nil, nil },
			check:  func(t *testing.T, r runs.Run) { nilRaw(t, r.ChildRunIDs, r.DirectChildRunIDs) },
			output: map[string]any{"child_run_ids": nil, "direct_child_run_ids": nil},
		},
		{
			name: "empty child_run_ids stay empty",
			edit: func(m map[string]any) { m["child_run_ids"], m["direct_child_run_ids"] = []any{}, []any{} },
			check: func(t *testing.T, r runs.Run) {
				if string(r.ChildRunIDs) != "[]" || string(r.DirectChildRunIDs) != "[]" {
					t.Errorf("child ids %s %s, want [] []", r.ChildRunIDs, r.DirectChildRunIDs)
				}
			},
			output: map[string]any{"child_run_ids": []any{}, "direct_child_run_ids": []any{}},
		},
		{
			name:   "child_run_ids kept",
			edit:   func(m map[string]any) { m["child_run_ids"] = []any{childID.String(), childID2.String()} },
			output: map[string]any{"child_run_ids": []any{childID.String(), childID2.String()}, "direct_child_run_ids": nil},
		},
		{
			name: "null tags become empty",
			edit: func(m map[string]any) { m["tags"] = nil },
			check: func(t *testing.T, r runs.Run) {
				if r.Tags == nil || len(r.Tags) != 0 {
					t.Errorf("tags = %#v, want []string{}", r.Tags)
				}
			},
			output: map[string]any{"tags": []any{}},
		},
		{
			name:   "tags kept in order",
			edit:   func(m map[string]any) { m["tags"] = []any{"b", "a", "ü"} },
			output: map[string]any{"tags": []any{"b", "a", "ü"}},
		},
		{
			name:   "null parent_run_ids become empty",
			edit:   func(m map[string]any) { m["parent_run_ids"] = nil },
			output: map[string]any{"parent_run_ids": []any{}},
		},
		{
			name: "costs as decimal strings",
			edit: func(m map[string]any) {
				m["total_cost"], m["prompt_cost"], m["completion_cost"] = "0.000123", "1e-4", "0"
			},
			check: func(t *testing.T, r runs.Run) {
				if r.TotalCost == nil || *r.TotalCost != 0.000123 || r.PromptCost == nil || *r.PromptCost != 0.0001 ||
					r.CompletionCost == nil || *r.CompletionCost != 0 {
					t.Errorf("costs %v %v %v", r.TotalCost, r.PromptCost, r.CompletionCost)
				}
			},
			output: map[string]any{"total_cost": 0.000123, "prompt_cost": 0.0001, "completion_cost": 0.0},
		},
		{
			name:   "costs as numbers, null",
			edit:   func(m map[string]any) { m["total_cost"], m["prompt_cost"], m["completion_cost"] = 1.5, 0, nil },
			output: map[string]any{"total_cost": 1.5, "prompt_cost": 0.0, "completion_cost": nil},
		},
		{
			name: "token counts, whole-valued floats",
			edit: func(m map[string]any) {
				m["total_tokens"], m["prompt_tokens"], m["completion_tokens"] = json.RawMessage("1e3"), json.RawMessage("12.0"), 0
			},
			output: map[string]any{"total_tokens": 1000.0, "prompt_tokens": 12.0, "completion_tokens": 0.0},
		},
		{
			name:   "in_dataset true",
			edit:   func(m map[string]any) { m["in_dataset"] = true },
			output: map[string]any{"in_dataset": true},
		},
		{
			name: "JSON documents compacted, unicode kept",
			edit: func(m map[string]any) {
				m["inputs"] = json.RawMessage(`{ "q" : "日本語 🚀 \u00e9", "n" : [ 1, 2 ] }`)
				m["events"] = json.RawMessage(`[ ]`)
			},
			check: func(t *testing.T, r runs.Run) {
				if want := `{"q":"日本語 🚀 \u00e9","n":[1,2]}`; string(r.Inputs) != want {
					t.Errorf("inputs = %s, want %s", r.Inputs, want)
				}
				if string(r.Events) != "[]" {
					t.Errorf("events = %s", r.Events)
				}
			},
			output: map[string]any{"inputs": map[string]any{"q": "日本語 🚀 é", "n": []any{1.0, 2.0}}, "events": []any{}},
		},
		{
			name: "offset and epoch-millisecond times",
			edit: func(m map[string]any) {
				m["start_time"], m["end_time"] = "2024-04-05T03:28:54.085646+02:00", 1712280535000
			},
			output: map[string]any{"start_time": "2024-04-05T01:28:54.085646", "end_time": "2024-04-05T01:28:55.000000"},
		},
		{
			name:   "unknown fields ignored",
			edit:   func(m map[string]any) { m["manifest_id"], m["child_runs"] = "x", []any{1} },
			output: map[string]any{"name": "agent"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := minimalRoot()
			c.edit(m)
			r, err := runs.DecodeRun(mustJSON(t, m), now)
			if err != nil {
				t.Fatalf("DecodeRun: %v", err)
			}
			if c.check != nil {
				c.check(t, r)
			}
			assertFieldsEqual(t, toMap(t, mustJSON(t, r)), c.output)
		})
	}
}

func nilRaw(t *testing.T, raws ...json.RawMessage) {
	t.Helper()
	for i, raw := range raws {
		if raw != nil {
			t.Errorf("value %d = %s, want nil", i, raw)
		}
	}
}

func TestDecodeRunInvalid(t *testing.T) {
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	set := func(field string, v any) func(map[string]any) {
		return func(m map[string]any) { m[field] = v }
	}
	del := func(field string) func(map[string]any) {
		return func(m map[string]any) { delete(m, field) }
	}
	cases := []struct {
		name  string
		edit  func(map[string]any)
		field string
	}{
		{"id not a UUID", set("id", "not-a-uuid"), "id"},
		{"id a number", set("id", 42), "id"},
		{"id empty", set("id", ""), "id"},
		{"id missing", del("id"), "id"},
		{"id null", set("id", nil), "id"},
		{"session_id missing", del("session_id"), "session_id"},
		{"session_id not a UUID", set("session_id", "6a3be6a2"), "session_id"},
		{"trace_id not a UUID", set("trace_id", "x"), "trace_id"},
		{"parent_run_id not a UUID", set("parent_run_id", "x"), "parent_run_id"},
		{"tenant_id not a UUID", set("tenant_id", true), "tenant_id"},
		{"reference_example_id not a UUID", set("reference_example_id", "1234"), "reference_example_id"},
		{"name missing", del("name"), "name"},
		{"name empty", set("name", ""), "name"},
		{"name null", set("name", nil), "name"},
		{"name a number", set("name", 7), "name"},
		{"run_type unknown", set("run_type", "agent"), "run_type"},
		{"run_type upper case", set("run_type", "LLM"), "run_type"},
		{"run_type empty", set("run_type", ""), "run_type"},
		{"run_type missing", del("run_type"), "run_type"},
		{"status not a string", set("status", 1), "status"},
		{"is_root not bool", set("is_root", "true"), "is_root"},
		{"dotted_order not a string", set("dotted_order", 1), "dotted_order"},
		{"start_time garbage", set("start_time", "yesterday"), "start_time"},
		{"start_time missing", del("start_time"), "start_time"},
		{"start_time empty", set("start_time", ""), "start_time"},
		{"start_time bool", set("start_time", true), "start_time"},
		{"start_time year out of range", set("start_time", "1969-12-31T23:59:59.000000"), "start_time"},
		{"end_time before start_time", set("end_time", "2024-04-05T01:28:54.099999"), "end_time"},
		{"end_time garbage", set("end_time", "2024-04-05T99:00:00"), "end_time"},
		{"modified_at garbage", set("modified_at", "soon"), "modified_at"},
		{"first_token_time object", set("first_token_time", map[string]any{}), "first_token_time"},
		{"last_queued_at garbage", set("last_queued_at", "x"), "last_queued_at"},
		{"total_tokens negative", set("total_tokens", -1), "total_tokens"},
		{"total_tokens fractional", set("total_tokens", 1.5), "total_tokens"},
		{"total_tokens string", set("total_tokens", "5"), "total_tokens"},
		{"total_tokens bool", set("total_tokens", true), "total_tokens"},
		{"total_tokens beyond 2^53", set("total_tokens", raw("1e20")), "total_tokens"},
		{"prompt_tokens negative", set("prompt_tokens", -3), "prompt_tokens"},
		{"completion_tokens fractional", set("completion_tokens", 2.5), "completion_tokens"},
		{"total_cost non-numeric string", set("total_cost", "abc"), "total_cost"},
		{"total_cost empty string", set("total_cost", ""), "total_cost"},
		{"total_cost NaN string", set("total_cost", "NaN"), "total_cost"},
		{"total_cost Inf string", set("total_cost", "Infinity"), "total_cost"},
		{"total_cost out of range string", set("total_cost", "1e400"), "total_cost"},
		{"total_cost bool", set("total_cost", true), "total_cost"},
		{"prompt_cost object", set("prompt_cost", map[string]any{}), "prompt_cost"},
		{"completion_cost array", set("completion_cost", []any{1}), "completion_cost"},
		{"app_path not a string", set("app_path", 5), "app_path"},
		{"in_dataset string", set("in_dataset", "false"), "in_dataset"},
		{"in_dataset number", set("in_dataset", 0), "in_dataset"},
		{"tags not strings", set("tags", []any{1, 2}), "tags"},
		{"tags a string", set("tags", "prod"), "tags"},
		{"tags an object", set("tags", map[string]any{"a": "b"}), "tags"},
		{"error not a string", set("error", map[string]any{"msg": "x"}), "error"},
		{"share_token not a string", set("share_token", 1), "share_token"},
		{"inputs not an object", set("inputs", "hello"), "inputs"},
		{"inputs an array", set("inputs", []any{1}), "inputs"},
		{"outputs a number", set("outputs", 5), "outputs"},
		{"inputs_s3_urls an array", set("inputs_s3_urls", []any{}), "inputs_s3_urls"},
		{"outputs_s3_urls bool", set("outputs_s3_urls", true), "outputs_s3_urls"},
		{"extra a string", set("extra", "x"), "extra"},
		{"events not an array", set("events", map[string]any{}), "events"},
		{"events a string", set("events", "[]"), "events"},
		{"feedback_stats an array", set("feedback_stats", []any{}), "feedback_stats"},
		{"serialized a string", set("serialized", "s"), "serialized"},
		{"parent_run_ids bad uuid", set("parent_run_ids", []any{"nope"}), "parent_run_ids"},
		{"parent_run_ids a string", set("parent_run_ids", rootID.String()), "parent_run_ids"},
		{"parent_run_ids with null", set("parent_run_ids", []any{nil}), "parent_run_ids"},
		{"child_run_ids bad uuid", set("child_run_ids", []any{childID2.String(), "x"}), "child_run_ids"},
		{"child_run_ids an object", set("child_run_ids", map[string]any{}), "child_run_ids"},
		{"child_run_ids numbers", set("child_run_ids", []any{1}), "child_run_ids"},
		{"direct_child_run_ids bad uuid", set("direct_child_run_ids", []any{"x"}), "direct_child_run_ids"},
		{"child run without trace_id", del("trace_id"), "trace_id"},
	}
	// The base is valid.
	if _, err := runs.DecodeRun(mustJSON(t, fullRun()), now); err != nil {
		t.Fatalf("base run invalid: %v", err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := fullRun()
			c.edit(m)
			r, err := runs.DecodeRun(mustJSON(t, m), now)
			if err == nil {
				t.Fatalf("no error; decoded %+v", r)
			}
			var fe *runs.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T) is not a *FieldError", err, err)
			}
			if fe.Field != c.field {
				t.Errorf("Field = %q, want %q (error: %v)", fe.Field, c.field, err)
			}
			if !strings.Contains(err.Error(), `"`+c.field+`"`) {
				t.Errorf("message %q does not name %q", err, c.field)
			}
			if fe.Unwrap() == nil {
				t.Error("FieldError without a cause")
			}
			if !reflect.DeepEqual(r, runs.Run{}) {
				t.Errorf("a partial run was returned with the error: %+v", r)
			}
		})
	}
}

func TestDecodeRunNotAnObject(t *testing.T) {
	cases := []struct {
		name, line, want string
	}{
		{"empty", "", "not a JSON object"},
		{"blank", "  \t ", "not a JSON object"},
		{"array", `[{"id":"x"}]`, "not a JSON object"},
		{"string", `"run"`, "not a JSON object"},
		{"number", `42`, "not a JSON object"},
		{"null", `null`, "not a JSON object"},
		{"truncated", `{"id":"6ab80f10-d79c-4fa2-b441-922ed6feb630",`, "invalid JSON"},
		{"unquoted key", `{id: 1}`, "invalid JSON"},
		{"trailing garbage", `{"id":"x"} {}`, "invalid JSON"},
		{"single quotes", `{'id':'x'}`, "invalid JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := runs.DecodeRun([]byte(c.line), now)
			if err == nil {
				t.Fatal("no error")
			}
			var fe *runs.FieldError
			if errors.As(err, &fe) {
				t.Errorf("whole-line error reported as field %q: %v", fe.Field, err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
		})
	}
}

func TestRunCompletedAndString(t *testing.T) {
	r, err := runs.DecodeRun(mustJSON(t, minimalRoot()), now)
	if err != nil {
		t.Fatal(err)
	}
	if r.Completed() {
		t.Error("run without end_time is completed")
	}
	if got, want := r.String(), `run `+rootID.String()+` (chain "agent")`; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	end := r.StartTime
	r.EndTime = &end
	if !r.Completed() {
		t.Error("run with end_time is not completed")
	}
}

// A Run built in code, with nil slices, still marshals tags and parent_run_ids as [].
func TestZeroRunMarshal(t *testing.T) {
	got := toMap(t, mustJSON(t, runs.Run{}))
	assertFieldsEqual(t, got, map[string]any{
		"tags": []any{}, "parent_run_ids": []any{}, "child_run_ids": nil, "inputs": nil,
		"end_time": nil, "total_cost": nil, "tenant_id": nil,
	})
	if len(got) != 38 {
		t.Errorf("marshaled run has %d fields, want 38", len(got))
	}
}

// A null inside tags is an error, not an empty tag.
func TestDecodeRunTagsWithNull(t *testing.T) {
	m := minimalRoot()
	m["tags"] = []any{"a", nil}
	_, err := runs.DecodeRun(mustJSON(t, m), now)
	var fe *runs.FieldError
	if !errors.As(err, &fe) || fe.Field != "tags" {
		t.Errorf("tags [\"a\", null]: err = %v, want a FieldError for tags", err)
	}
}
