package ingest_test

// Ingest into the real ClickHouse server (testenv.ClickHouse: a private,
// migrated database per test) and read back through the store.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/ingest"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/testenv"
)

// jsonLines reads a JSONL file as its non-blank lines.
func jsonLines(t *testing.T, name string) (content []byte, lines [][]byte) {
	t.Helper()
	content, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range bytes.Split(content, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			lines = append(lines, l)
		}
	}
	return content, lines
}

func asMap(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	return m
}

// sameFields checks that every field of want is in got with an equal value.
func sameFields(t *testing.T, what string, got, want map[string]any) {
	t.Helper()
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: field %q missing", what, k)
		} else if !reflect.DeepEqual(g, v) {
			t.Errorf("%s: field %q = %#v, want %#v", what, k, g, v)
		}
	}
}

func decodeRuns(t *testing.T, lines [][]byte) (map[uuid.UUID]runs.Run, []uuid.UUID) {
	t.Helper()
	byID := map[uuid.UUID]runs.Run{}
	var ids []uuid.UUID
	for i, l := range lines {
		r, err := runs.DecodeRun(l, fixedNow)
		if err != nil {
			t.Fatalf("testdata line %d: %v", i+1, err)
		}
		byID[r.ID] = r
		ids = append(ids, r.ID)
	}
	return byID, ids
}

func latest(t *testing.T, ctx context.Context, store interface {
	LatestRuns(context.Context, []uuid.UUID) ([]runs.Run, error)
}, ids ...uuid.UUID) map[uuid.UUID]runs.Run {
	t.Helper()
	got, err := store.LatestRuns(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	out := map[uuid.UUID]runs.Run{}
	for _, r := range got {
		if _, dup := out[r.ID]; dup {
			t.Errorf("LatestRuns returned %s twice", r.ID)
		}
		if r.InsertedAt.IsZero() {
			t.Errorf("run %s: inserted_at not set", r.ID)
		}
		r.InsertedAt = time.Time{}
		out[r.ID] = r
	}
	return out
}

func TestIngestRunsRoundTrip(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	content, lines := jsonLines(t, "testdata/runs.jsonl")
	want, ids := decodeRuns(t, lines)

	res, err := ingest.Runs(ctx, store, bytes.NewReader(content), "testdata/runs.jsonl", opts(false))
	if err != nil {
		t.Fatal(err)
	}
	if res.Lines != len(lines) || res.Inserted != len(lines) || len(res.Skipped) != 0 {
		t.Errorf("result = %+v, want %d lines inserted", res, len(lines))
	}
	got := latest(t, ctx, store, append(ids, uuid.New())...)
	if len(got) != len(lines) {
		t.Fatalf("read %d runs, want %d", len(got), len(lines))
	}
	for i, l := range lines {
		r, w := got[ids[i]], want[ids[i]]
		what := fmt.Sprintf("line %d (%s)", i+1, w.Name)
		if !reflect.DeepEqual(r, w) {
			t.Errorf("%s: stored run differs from the decoded line:\n got %+v\nwant %+v", what, r, w)
		}
		out, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		sameFields(t, what, asMap(t, out), asMap(t, l))
	}
	// The run without modified_at (last line) was stamped with Options.Now;
	// its derived fields survive storage too.
	last := got[ids[len(ids)-1]]
	if !last.ModifiedAt.Equal(fixedNow.Truncate(time.Microsecond)) || !last.IsRoot || last.TraceID != last.ID ||
		last.DottedOrder != runs.DottedOrderPart(last.StartTime, last.ID) || last.Status != "pending" {
		t.Errorf("derived fields of %s: %+v", last.ID, last)
	}
	n, err := store.CountRuns(ctx)
	if err != nil || n != uint64(len(lines)) {
		t.Errorf("CountRuns = %d, %v; want %d", n, err, len(lines))
	}
}

func TestIngestNewerVersionWins(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	runID := uuid.New()
	line := func(modified, name, extra string) string {
		return fmt.Sprintf(`{"id":"%s","session_id":"%s","name":"%s","run_type":"llm","start_time":"2024-04-05T01:28:54.085646","modified_at":"%s"%s}`,
			runID, sessionID, name, modified, extra)
	}
	posted := line("2024-04-05T01:28:54.085646", "chat", "")
	patched := line("2024-04-05T01:28:54.085647", "chat", // one microsecond later
		`,"end_time":"2024-04-05T01:28:54.085647","outputs":{"text":"done ✓"}`)
	stale := line("2024-04-05T01:28:54.085645", "stale", `,"error":"old"`)
	decoded := func(l string) runs.Run {
		r, err := runs.DecodeRun([]byte(l), fixedNow)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	steps := []struct {
		name string
		file string
		want string // line whose version must be current afterwards
	}{
		{"posted", posted, posted},
		{"newer modified_at updates", patched, patched},
		{"older modified_at does not", stale, patched},
		{"older again, with the newer in the same file before it", patched + "\n" + stale, patched},
	}
	for _, s := range steps {
		if _, err := ingest.Runs(ctx, store, strings.NewReader(s.file), s.name, opts(false)); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		got := latest(t, ctx, store, runID)
		if w := decoded(s.want); !reflect.DeepEqual(got[runID], w) {
			t.Errorf("after %s: current version\n got %+v\nwant %+v", s.name, got[runID], w)
		}
	}
	if got := latest(t, ctx, store, runID)[runID]; got.Status != "success" || string(got.Outputs) != `{"text":"done ✓"}` {
		t.Errorf("final version = %+v", got)
	}
}

func TestIngestBadFileInsertsNothing(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	_, lines := jsonLines(t, "testdata/runs.jsonl")
	_, ids := decodeRuns(t, lines)
	// The good lines with a truncated line as line 3, then a blank line and
	// a line with an unknown run_type at the end.
	var file []string
	for i, l := range lines {
		if i == 2 {
			file = append(file, string(lines[0][:len(lines[0])/2]))
		}
		file = append(file, string(l))
	}
	file = append(file, "", `{"id":"`+uuid.NewString()+`","session_id":"`+sessionID.String()+
		`","name":"x","run_type":"agent","start_time":"2024-04-05T01:28:54"}`)
	wantBad := []int{3, len(lines) + 3}
	content := strings.Join(file, "\n")

	_, err := ingest.Runs(ctx, store, strings.NewReader(content), "bad.jsonl", opts(false))
	var inv *ingest.Invalid
	if !errors.As(err, &inv) {
		t.Fatalf("err = %v, want *ingest.Invalid", err)
	}
	if got := lineNumbers(inv.Lines); !reflect.DeepEqual(got, wantBad) {
		t.Errorf("bad lines = %v, want %v", got, wantBad)
	}
	if got := latest(t, ctx, store, ids...); len(got) != 0 {
		t.Errorf("%d runs of a rejected file were stored", len(got))
	}
	if n, err := store.CountRuns(ctx); err != nil || n != 0 {
		t.Errorf("CountRuns = %d, %v; want 0", n, err)
	}

	// The same file with SkipInvalid stores exactly the good lines.
	res, err := ingest.Runs(ctx, store, strings.NewReader(content), "bad.jsonl", opts(true))
	if err != nil {
		t.Fatal(err)
	}
	if res.Inserted != len(lines) || !reflect.DeepEqual(lineNumbers(res.Skipped), wantBad) {
		t.Errorf("result = %+v", res)
	}
	if got := latest(t, ctx, store, ids...); len(got) != len(lines) {
		t.Errorf("%d runs stored, want %d", len(got), len(lines))
	}
	if n, err := store.CountRuns(ctx); err != nil || n != uint64(len(lines)) {
		t.Errorf("CountRuns = %d, %v; want %d", n, err, len(lines))
	}
}

func TestIngestFeedbackRoundTrip(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	content, lines := jsonLines(t, "testdata/feedback.jsonl")
	want := map[uuid.UUID]runs.Feedback{}
	runSet := map[uuid.UUID]bool{}
	var runIDs []uuid.UUID
	for i, l := range lines {
		f, err := runs.DecodeFeedback(l, fixedNow)
		if err != nil {
			t.Fatalf("testdata line %d: %v", i+1, err)
		}
		want[f.ID] = f
		if !runSet[f.RunID] {
			runSet[f.RunID] = true
			runIDs = append(runIDs, f.RunID)
		}
	}
	res, err := ingest.Feedback(ctx, store, bytes.NewReader(content), "testdata/feedback.jsonl", opts(false))
	if err != nil {
		t.Fatal(err)
	}
	if res.Inserted != len(lines) {
		t.Errorf("result = %+v", res)
	}
	read := func() map[uuid.UUID]runs.Feedback {
		got, err := store.FeedbackForRuns(ctx, append(runIDs, uuid.New()))
		if err != nil {
			t.Fatal(err)
		}
		out := map[uuid.UUID]runs.Feedback{}
		for _, f := range got {
			if f.InsertedAt.IsZero() {
				t.Errorf("feedback %s: inserted_at not set", f.ID)
			}
			f.InsertedAt = time.Time{}
			out[f.ID] = f
		}
		return out
	}
	got := read()
	if len(got) != len(lines) {
		t.Fatalf("read %d feedback rows, want %d", len(got), len(lines))
	}
	for i, l := range lines {
		in := asMap(t, l)
		f := got[uuid.MustParse(in["id"].(string))]
		what := fmt.Sprintf("feedback line %d", i+1)
		if w := want[f.ID]; !reflect.DeepEqual(f, w) {
			t.Errorf("%s: stored differs:\n got %+v\nwant %+v", what, f, w)
		}
		// The output is LangSmith's shape: a boolean score is 1 or 0 and
		// the source is feedback_source.
		switch in["score"] {
		case true:
			in["score"] = 1.0
		case false:
			in["score"] = 0.0
		}
		if src, ok := in["source"]; ok {
			delete(in, "source")
			in["feedback_source"] = src
		}
		out, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		sameFields(t, what, asMap(t, out), in)
	}

	// A newer modified_at replaces a feedback row; an older one does not.
	first := lines[0]
	newer := strings.Replace(strings.Replace(string(first), `"score":1`, `"score":0.25`, 1),
		`"modified_at":"2024-04-05T01:29:00.000002"`, `"modified_at":"2024-04-05T01:29:00.000003"`, 1)
	older := strings.Replace(strings.Replace(string(first), `"score":1`, `"score":0`, 1),
		`"modified_at":"2024-04-05T01:29:00.000002"`, `"modified_at":"2024-04-05T01:29:00.000001"`, 1)
	if newer == string(first) || older == string(first) {
		t.Fatal("testdata/feedback.jsonl line 1 changed; update this test")
	}
	for _, l := range []string{newer, older} {
		if _, err := ingest.Feedback(ctx, store, strings.NewReader(l), "update", opts(false)); err != nil {
			t.Fatal(err)
		}
	}
	f0, err := runs.DecodeFeedback([]byte(newer), fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if got := read(); !reflect.DeepEqual(got[f0.ID], f0) || len(got) != len(lines) {
		t.Errorf("after update: %+v, want %+v", got[f0.ID], f0)
	}
}
