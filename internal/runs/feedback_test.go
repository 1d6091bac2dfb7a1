package runs_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/runs"
)

var (
	fbID    = uuid.MustParse("0190a1b2-0000-7000-8000-0000000000f1")
	fbRunID = uuid.MustParse("0190a1b2-0000-7000-8000-000000000002")
)

func fullFeedback() map[string]any {
	return map[string]any{
		"id":              fbID.String(),
		"run_id":          fbRunID.String(),
		"trace_id":        rootID.String(),
		"session_id":      session.String(),
		"key":             "correctness",
		"score":           0.75,
		"value":           json.RawMessage(`{ "label" : "mostly right", "tags" : [ "a", "ü" ] }`),
		"comment":         "close enough",
		"correction":      json.RawMessage(`{ "answer" : 42 }`),
		"feedback_source": json.RawMessage(`{ "type" : "api", "metadata" : { "k" : 1 } }`),
		"created_at":      "2024-04-05T01:28:55.123456",
		"modified_at":     "2024-04-05T01:28:56.000001",
	}
}

func TestDecodeFeedbackFull(t *testing.T) {
	f, err := runs.DecodeFeedback(mustJSON(t, fullFeedback()), now)
	if err != nil {
		t.Fatal(err)
	}
	want := runs.Feedback{
		ID: fbID, RunID: fbRunID, TraceID: ptr(rootID), SessionID: ptr(session),
		Key: "correctness", Score: ptr(0.75),
		Value:      json.RawMessage(`{"label":"mostly right","tags":["a","ü"]}`),
		Comment:    ptr("close enough"),
		Correction: json.RawMessage(`{"answer":42}`),
		Source:     json.RawMessage(`{"type":"api","metadata":{"k":1}}`),
		CreatedAt:  time.Date(2024, 4, 5, 1, 28, 55, 123456000, time.UTC),
		ModifiedAt: time.Date(2024, 4, 5, 1, 28, 56, 1000, time.UTC),
	}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("decoded:\n got %+v\nwant %+v", f, want)
	}
}

func TestDecodeFeedbackMinimal(t *testing.T) {
	f, err := runs.DecodeFeedback([]byte(`{"id":"`+fbID.String()+`","run_id":"`+fbRunID.String()+`","key":"k"}`), now)
	if err != nil {
		t.Fatal(err)
	}
	want := runs.Feedback{ID: fbID, RunID: fbRunID, Key: "k", CreatedAt: nowStamp, ModifiedAt: nowStamp}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("decoded:\n got %+v\nwant %+v", f, want)
	}
}

func TestDecodeFeedbackScore(t *testing.T) {
	cases := []struct {
		name  string
		score any // JSON text as json.RawMessage, or absent when nil
		want  *float64
		bad   bool
	}{
		{"fraction", json.RawMessage(`0.75`), ptr(0.75), false},
		{"integer", json.RawMessage(`3`), ptr(3.0), false},
		{"negative", json.RawMessage(`-1`), ptr(-1.0), false},
		{"zero", json.RawMessage(`0`), ptr(0.0), false},
		{"true is 1", json.RawMessage(`true`), ptr(1.0), false},
		{"false is 0", json.RawMessage(`false`), ptr(0.0), false},
		{"null", json.RawMessage(`null`), nil, false},
		{"absent", nil, nil, false},
		{"numeric string rejected", json.RawMessage(`"0.5"`), nil, true},
		{"string true rejected", json.RawMessage(`"true"`), nil, true},
		{"empty string rejected", json.RawMessage(`""`), nil, true},
		{"object rejected", json.RawMessage(`{"v":1}`), nil, true},
		{"array rejected", json.RawMessage(`[1]`), nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := fullFeedback()
			delete(m, "score")
			if c.score != nil {
				m["score"] = c.score
			}
			f, err := runs.DecodeFeedback(mustJSON(t, m), now)
			if c.bad {
				var fe *runs.FieldError
				if !errors.As(err, &fe) || fe.Field != "score" {
					t.Fatalf("err = %v, want a FieldError for score", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(f.Score, c.want) {
				t.Errorf("score = %v, want %v", deref(f.Score), deref(c.want))
			}
			// The score is written as a number (or null), never a boolean.
			if got, want := toMap(t, mustJSON(t, f))["score"], deref(c.want); !reflect.DeepEqual(got, want) {
				t.Errorf("marshaled score = %#v, want %#v", got, want)
			}
		})
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestDecodeFeedbackValue(t *testing.T) {
	cases := []struct {
		name string
		raw  string // "" = absent
		want string // "" = nil
	}{
		{"object compacted", `{ "a" : [ 1, 2 ], "b" : null }`, `{"a":[1,2],"b":null}`},
		{"array", `[ "x" , 1 ]`, `["x",1]`},
		{"string", `"great answer"`, `"great answer"`},
		{"unicode string kept", `"très bien 👍"`, `"très bien 👍"`},
		{"number", `3.50`, `3.50`},
		{"bool", `true`, `true`},
		{"empty object", `{ }`, `{}`},
		{"null", `null`, ``},
		{"absent", ``, ``},
	}
	for _, c := range cases {
		for _, field := range []string{"value", "correction"} {
			t.Run(field+"/"+c.name, func(t *testing.T) {
				m := fullFeedback()
				delete(m, field)
				if c.raw != "" {
					m[field] = json.RawMessage(c.raw)
				}
				f, err := runs.DecodeFeedback(mustJSON(t, m), now)
				if err != nil {
					t.Fatal(err)
				}
				got := f.Value
				if field == "correction" {
					got = f.Correction
				}
				if c.want == "" {
					if got != nil {
						t.Errorf("%s = %s, want nil", field, got)
					}
				} else if string(got) != c.want {
					t.Errorf("%s = %s, want %s", field, got, c.want)
				}
			})
		}
	}
}

func TestDecodeFeedbackSource(t *testing.T) {
	cases := []struct {
		name    string
		fields  map[string]any
		want    string // "" = nil
		badName string // field named by the error
	}{
		{"feedback_source", map[string]any{"feedback_source": json.RawMessage(`{"type":"api"}`)}, `{"type":"api"}`, ""},
		{"source alias", map[string]any{"source": json.RawMessage(`{ "type" : "model" }`)}, `{"type":"model"}`, ""},
		{"feedback_source wins over source", map[string]any{
			"feedback_source": json.RawMessage(`{"type":"api"}`), "source": json.RawMessage(`{"type":"model"}`)}, `{"type":"api"}`, ""},
		{"null feedback_source falls back to source", map[string]any{
			"feedback_source": nil, "source": json.RawMessage(`{"type":"model"}`)}, `{"type":"model"}`, ""},
		{"neither", map[string]any{}, "", ""},
		{"both null", map[string]any{"feedback_source": nil, "source": nil}, "", ""},
		{"feedback_source not an object", map[string]any{"feedback_source": "api"}, "", "feedback_source"},
		{"source not an object", map[string]any{"source": []any{}}, "", "source"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := fullFeedback()
			delete(m, "feedback_source")
			for k, v := range c.fields {
				m[k] = v
			}
			f, err := runs.DecodeFeedback(mustJSON(t, m), now)
			if c.badName != "" {
				var fe *runs.FieldError
				if !errors.As(err, &fe) || fe.Field != c.badName {
					t.Fatalf("err = %v, want a FieldError for %s", err, c.badName)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.want == "" && f.Source != nil || c.want != "" && string(f.Source) != c.want {
				t.Errorf("source = %s, want %q", f.Source, c.want)
			}
		})
	}
}

func TestDecodeFeedbackTimes(t *testing.T) {
	created := time.Date(2024, 4, 5, 1, 28, 55, 123456000, time.UTC)
	modified := time.Date(2024, 4, 5, 1, 28, 56, 1000, time.UTC)
	cases := []struct {
		name                  string
		createdAt, modifiedAt any // nil = absent
		wantCreated, wantMod  time.Time
	}{
		{"neither: both now", nil, nil, nowStamp, nowStamp},
		{"only created_at: modified_at = created_at", "2024-04-05T01:28:55.123456", nil, created, created},
		{"only modified_at: created_at = now", nil, "2024-04-05T01:28:56.000001", nowStamp, modified},
		{"both", "2024-04-05T01:28:55.123456", "2024-04-05T01:28:56.000001", created, modified},
		{"offsets and epoch ms", "2024-04-05T03:28:55.123456+02:00", 1712280536000.001, created, modified},
		{"null created_at is absent", json.RawMessage(`null`), nil, nowStamp, nowStamp},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := fullFeedback()
			delete(m, "created_at")
			delete(m, "modified_at")
			if c.createdAt != nil {
				m["created_at"] = c.createdAt
			}
			if c.modifiedAt != nil {
				m["modified_at"] = c.modifiedAt
			}
			f, err := runs.DecodeFeedback(mustJSON(t, m), now)
			if err != nil {
				t.Fatal(err)
			}
			if !f.CreatedAt.Equal(c.wantCreated) || f.CreatedAt.Location() != time.UTC {
				t.Errorf("created_at = %v, want %v", f.CreatedAt, c.wantCreated)
			}
			if !f.ModifiedAt.Equal(c.wantMod) || f.ModifiedAt.Location() != time.UTC {
				t.Errorf("modified_at = %v, want %v", f.ModifiedAt, c.wantMod)
			}
		})
	}
}

func TestDecodeFeedbackInvalid(t *testing.T) {
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
		{"id missing", del("id"), "id"},
		{"id null", set("id", nil), "id"},
		{"id not a UUID", set("id", "f1"), "id"},
		{"run_id missing", del("run_id"), "run_id"},
		{"run_id not a UUID", set("run_id", "run-1"), "run_id"},
		{"run_id a number", set("run_id", 1), "run_id"},
		{"trace_id not a UUID", set("trace_id", "x"), "trace_id"},
		{"session_id not a UUID", set("session_id", "x"), "session_id"},
		{"key missing", del("key"), "key"},
		{"key empty", set("key", ""), "key"},
		{"key not a string", set("key", 5), "key"},
		{"score a string", set("score", "0.9"), "score"},
		{"comment not a string", set("comment", 5), "comment"},
		{"created_at garbage", set("created_at", "today"), "created_at"},
		{"modified_at garbage", set("modified_at", "x"), "modified_at"},
		{"feedback_source an array", set("feedback_source", []any{}), "feedback_source"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := fullFeedback()
			c.edit(m)
			f, err := runs.DecodeFeedback(mustJSON(t, m), now)
			var fe *runs.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v (%T), want a *FieldError; decoded %+v", err, err, f)
			}
			if fe.Field != c.field {
				t.Errorf("Field = %q, want %q (%v)", fe.Field, c.field, err)
			}
			if !strings.Contains(err.Error(), `"`+c.field+`"`) {
				t.Errorf("message %q does not name %q", err, c.field)
			}
		})
	}
	for _, line := range []string{``, `[]`, `"feedback"`, `null`, `{"id":`, `{"id" "x"}`} {
		_, err := runs.DecodeFeedback([]byte(line), now)
		var fe *runs.FieldError
		if err == nil || errors.As(err, &fe) {
			t.Errorf("DecodeFeedback(%q): err = %v, want a whole-line error", line, err)
		} else if !strings.Contains(err.Error(), "not a JSON object") && !strings.Contains(err.Error(), "invalid JSON") {
			t.Errorf("DecodeFeedback(%q): unclear error %q", line, err)
		}
	}
}

func TestFeedbackMarshalJSON(t *testing.T) {
	f, err := runs.DecodeFeedback(mustJSON(t, fullFeedback()), now)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"` + fbID.String() + `","run_id":"` + fbRunID.String() + `","trace_id":"` + rootID.String() +
		`","session_id":"` + session.String() + `","key":"correctness","score":0.75,` +
		`"value":{"label":"mostly right","tags":["a","ü"]},"comment":"close enough","correction":{"answer":42},` +
		`"feedback_source":{"type":"api","metadata":{"k":1}},` +
		`"created_at":"2024-04-05T01:28:55.123456","modified_at":"2024-04-05T01:28:56.000001"}`
	if got := string(mustJSON(t, f)); got != want {
		t.Errorf("MarshalJSON:\n got %s\nwant %s", got, want)
	}

	// Nulls are written as null, not left out; a source given as "source"
	// comes out as feedback_source.
	minimal := runs.Feedback{ID: fbID, RunID: fbRunID, Key: "k", CreatedAt: nowStamp, ModifiedAt: nowStamp,
		Source: json.RawMessage(`{"type":"model"}`)}
	got := toMap(t, mustJSON(t, minimal))
	wantMap := map[string]any{
		"id": fbID.String(), "run_id": fbRunID.String(), "trace_id": nil, "session_id": nil, "key": "k",
		"score": nil, "value": nil, "comment": nil, "correction": nil,
		"feedback_source": map[string]any{"type": "model"},
		"created_at":      "2025-01-02T03:04:05.123456", "modified_at": "2025-01-02T03:04:05.123456",
	}
	if !reflect.DeepEqual(got, wantMap) {
		t.Errorf("minimal feedback:\n got %#v\nwant %#v", got, wantMap)
	}

	// Decoding the output gives the feedback back.
	for _, fb := range []runs.Feedback{f, minimal} {
		back, err := runs.DecodeFeedback(mustJSON(t, fb), now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, fb) {
			t.Errorf("round trip:\n got %+v\nwant %+v", back, fb)
		}
	}
}
