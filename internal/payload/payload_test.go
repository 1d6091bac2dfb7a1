package payload_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/payload"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/testenv"
)

var _ payload.Source = (*clickhouse.Store)(nil)

var seedRule = uuid.MustParse("d75d7417-0c57-4655-88fe-1db3cda3a47a")

// seed is LangSmith's example: its one run, decoded as ingest does, the whole
// payload as JSON values, and its window.
func seed(t *testing.T) (run runs.Run, want any, start, end time.Time) {
	t.Helper()
	line, err := os.ReadFile("../runs/testdata/seed_run.json")
	if err != nil {
		t.Fatal(err)
	}
	if run, err = runs.DecodeRun(line, time.Now()); err != nil {
		t.Fatalf("decode seed run: %v", err)
	}
	body, err := os.ReadFile("../runs/testdata/seed_payload.json")
	if err != nil {
		t.Fatal(err)
	}
	want = decode(t, body)
	window := want.(map[string]any)
	if start, err = time.Parse(time.RFC3339Nano, window["start_time"].(string)); err != nil {
		t.Fatal(err)
	}
	if end, err = time.Parse(time.RFC3339Nano, window["end_time"].(string)); err != nil {
		t.Fatal(err)
	}
	return run, want, start, end
}

// decode keeps numbers as written, so 0 and 0.0 differ.
func decode(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := runs.MarshalJSON(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// addedFields are the only fields runhook writes beyond LangSmith's example
// payload, each with the value it has for the example's run (JSON).
var addedFields = map[string]string{
	"feedback_stats":               `{}`, // described in the docs, absent from the example
	"runs[0].parent_run_id":        `null`,
	"runs[0].reference_example_id": `null`,
	"runs[0].tags":                 `[]`,
	"runs[0].error":                `null`,
}

// compareFields reports every field of want that got lacks or holds with
// another value or type (null included), and every field of got that want
// lacks unless added lists it with that value; seen collects the added paths met.
func compareFields(t *testing.T, path string, got, want any, added map[string]any, seen map[string]bool) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s = %#v, want an object", path, got)
			return
		}
		for k, wv := range w {
			if gv, ok := g[k]; !ok {
				t.Errorf("%s: missing", join(path, k))
			} else {
				compareFields(t, join(path, k), gv, wv, added, seen)
			}
		}
		for k, gv := range g {
			if _, ok := w[k]; ok {
				continue
			}
			p := join(path, k)
			av, listed := added[p]
			switch {
			case !listed:
				t.Errorf("%s = %#v: not in the example and not listed as added", p, gv)
			case !reflect.DeepEqual(gv, av):
				t.Errorf("%s = %#v, want %#v", p, gv, av)
			}
			seen[p] = true
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			t.Errorf("%s = %#v, want an array of %d", path, got, len(w))
			return
		}
		for i := range w {
			compareFields(t, fmt.Sprintf("%s[%d]", path, i), g[i], w[i], added, seen)
		}
	default:
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v (%T), want %#v (%T)", path, got, got, want, want)
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// topKeys lists an object's keys in the order written.
func topKeys(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", b)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// The golden test: LangSmith's example run, stored and read back,
// gives LangSmith's example payload.
func TestSeedPayloadGolden(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	run, want, start, end := seed(t)
	if err := store.InsertRuns(ctx, []runs.Run{run}); err != nil {
		t.Fatal(err)
	}
	p, err := payload.Build(ctx, store, seedRule, start, end, []uuid.UUID{run.ID})
	if err != nil {
		t.Fatal(err)
	}
	body := marshal(t, p)

	added := map[string]any{}
	for path, v := range addedFields {
		added[path] = decode(t, []byte(v))
	}
	seen := map[string]bool{}
	compareFields(t, "", decode(t, body), want, added, seen)
	for path := range addedFields {
		if !seen[path] {
			t.Errorf("%s is listed as added but not written; drop it from addedFields", path)
		}
	}
	if got, want := topKeys(t, body), []string{"rule_id", "start_time", "end_time", "runs", "feedback_stats"}; !reflect.DeepEqual(got, want) {
		t.Errorf("top-level keys %v, want %v", got, want)
	}
	if t.Failed() {
		t.Logf("payload: %s", body)
	}
}

// approxEqual is reflect.DeepEqual for decoded JSON, with numbers equal to
// 1e-12: the server may round a standard deviation in its last bit.
func approxEqual(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k := range x {
			if _, ok := y[k]; !ok || !approxEqual(x[k], y[k]) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !approxEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		fx, err1 := x.Float64()
		fy, err2 := y.Float64()
		return err1 == nil && err2 == nil && math.Abs(fx-fy) <= 1e-12
	}
	return reflect.DeepEqual(a, b)
}

func checkJSON(t *testing.T, what string, got any, want string) {
	t.Helper()
	if !approxEqual(got, decode(t, []byte(want))) {
		t.Errorf("%s = %s\nwant %s", what, marshal(t, got), want)
	}
}

// Three runs: the example run with feedback under two keys (one row written
// twice, the newer version counting), a copy without feedback, and a copy with
// feedback of its own. Each run carries its own stats, the payload those of
// all three.
func TestBuildWithFeedback(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	scored, _, start, end := seed(t)
	plain, other := scored, scored
	plain.ID, plain.Name = uuid.New(), "plain"
	other.ID, other.Name = uuid.New(), "other"
	if err := store.InsertRuns(ctx, []runs.Run{scored, plain, other}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2024, 4, 5, 1, 28, 55, 0, time.UTC)
	fb := func(run uuid.UUID, key string, sec int, score *float64, value, comment string) runs.Feedback {
		f := runs.Feedback{ID: uuid.New(), RunID: run, Key: key, Score: score,
			CreatedAt: t0.Add(time.Duration(sec) * time.Second)}
		f.ModifiedAt = f.CreatedAt
		if value != "" {
			f.Value = json.RawMessage(value)
		}
		if comment != "" {
			f.Comment = &comment
		}
		return f
	}
	one, half, zero := 1.0, 0.5, 0.0
	partlyOld := fb(scored.ID, "usefulness", 2, &zero, `"useless"`, "meh")
	partly := partlyOld
	partly.Score, partly.Value, partly.Comment = &half, json.RawMessage(`"partly"`), nil
	partly.ModifiedAt = partly.ModifiedAt.Add(time.Minute)
	for _, batch := range [][]runs.Feedback{
		{
			fb(scored.ID, "usefulness", 1, &one, "", "spot on"),
			partlyOld,
			fb(scored.ID, "label", 3, nil, `"useful"`, ""),
			fb(other.ID, "usefulness", 0, &one, `"partly"`, "also good"),
			fb(other.ID, "usefulness", 4, &half, "", ""),
		},
		{partly},
	} {
		if err := store.InsertFeedback(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}

	ids := []uuid.UUID{plain.ID, scored.ID, other.ID}
	p, err := payload.Build(ctx, store, seedRule, start, end, ids)
	if err != nil {
		t.Fatal(err)
	}
	body := marshal(t, p)
	got := decode(t, body).(map[string]any)
	rs := got["runs"].([]any)
	if len(rs) != 3 {
		t.Fatalf("%d runs, want 3", len(rs))
	}
	for i, id := range ids {
		if rid := rs[i].(map[string]any)["id"]; rid != id.String() {
			t.Errorf("runs[%d].id = %v, want %s (the order asked for)", i, rid, id)
		}
	}
	checkJSON(t, "runs[0].feedback_stats (no feedback)", rs[0].(map[string]any)["feedback_stats"], `null`)
	checkJSON(t, "runs[1].feedback_stats", rs[1].(map[string]any)["feedback_stats"], `{
		"label":      {"n": 1, "avg": null, "stdev": null, "min": null, "max": null, "values": {"useful": 1}, "comments": []},
		"usefulness": {"n": 2, "avg": 0.75, "stdev": 0.25, "min": 0.5, "max": 1, "values": {"partly": 1}, "comments": ["spot on"]}}`)
	checkJSON(t, "runs[2].feedback_stats", rs[2].(map[string]any)["feedback_stats"], `{
		"usefulness": {"n": 2, "avg": 0.75, "stdev": 0.25, "min": 0.5, "max": 1, "values": {"partly": 1}, "comments": ["also good"]}}`)
	// Scores 1, 0.5, 1, 0.5; comments by the feedback's creation time.
	checkJSON(t, "feedback_stats", got["feedback_stats"], `{
		"label":      {"n": 1, "avg": null, "stdev": null, "min": null, "max": null, "values": {"useful": 1}, "comments": []},
		"usefulness": {"n": 4, "avg": 0.75, "stdev": 0.25, "min": 0.5, "max": 1, "values": {"partly": 2}, "comments": ["also good", "spot on"]}}`)

	// Split so no two runs fit together; each batch's own payload, with its
	// own stats, stays within the limit that Batches planned for.
	limit := len(body) - 1
	batches, err := payload.Batches(p, 10, limit)
	if err != nil {
		t.Fatal(err)
	}
	var all []uuid.UUID
	for _, b := range batches {
		all = append(all, b...)
		bp, err := payload.Build(ctx, store, seedRule, start, end, b)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(marshal(t, bp)); n > limit {
			t.Errorf("batch %v is %d bytes, over the limit %d", b, n, limit)
		}
	}
	if !reflect.DeepEqual(all, ids) || len(batches) < 2 {
		t.Errorf("batches %v, want %v split in order", batches, ids)
	}
}

// fakeSource serves runs in reverse order, as storage may.
type fakeSource struct {
	runs   []runs.Run
	perRun map[uuid.UUID]runs.FeedbackStats
	batch  runs.FeedbackStats
}

func (f fakeSource) LatestRuns(_ context.Context, ids []uuid.UUID) ([]runs.Run, error) {
	want := map[uuid.UUID]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var out []runs.Run
	for i := len(f.runs) - 1; i >= 0; i-- {
		if want[f.runs[i].ID] {
			out = append(out, f.runs[i])
		}
	}
	return out, nil
}

func (f fakeSource) FeedbackStats(context.Context, []uuid.UUID) (map[uuid.UUID]runs.FeedbackStats, runs.FeedbackStats, error) {
	return f.perRun, f.batch, nil
}

// testRuns are copies of the example run with their own ids and inputs of
// the given sizes.
func testRuns(t *testing.T, inputSizes ...int) []runs.Run {
	t.Helper()
	r, _, _, _ := seed(t)
	out := make([]runs.Run, len(inputSizes))
	for i, n := range inputSizes {
		out[i] = r
		out[i].ID = uuid.New()
		out[i].Inputs = json.RawMessage(`{"q":"` + strings.Repeat("x", n) + `"}`)
	}
	return out
}

func TestMarshalEmpty(t *testing.T) {
	start := time.Date(2024, 4, 5, 3, 28, 54, 734491000, time.FixedZone("CEST", 2*3600))
	p, err := payload.Build(context.Background(), fakeSource{}, seedRule, start, start.Add(time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"rule_id":"d75d7417-0c57-4655-88fe-1db3cda3a47a","start_time":"2024-04-05T01:28:54.734491+00:00",` +
		`"end_time":"2024-04-05T01:28:55.734491+00:00","runs":[],"feedback_stats":{}}`
	if got := string(marshal(t, p)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := string(marshal(t, payload.Payload{RuleID: seedRule, StartTime: start, EndTime: start.Add(time.Second)})); got != want {
		t.Errorf("zero Runs and FeedbackStats: got %s", got)
	}
}

func TestBuildOrderAndMissing(t *testing.T) {
	ctx := context.Background()
	rs := testRuns(t, 1, 2, 3)
	rs[2].FeedbackStats = json.RawMessage(`{"stale":{"n":1}}`) // as ingested from LangSmith
	avg := 1.0
	src := fakeSource{runs: rs,
		perRun: map[uuid.UUID]runs.FeedbackStats{rs[0].ID: {"k": {N: 1, Avg: &avg, Stdev: &avg, Min: &avg, Max: &avg}}},
		batch:  runs.FeedbackStats{"k": {N: 1}}}
	now := time.Now()

	p, err := payload.Build(ctx, src, seedRule, now, now, []uuid.UUID{rs[2].ID, rs[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Runs) != 2 || p.Runs[0].ID != rs[2].ID || p.Runs[1].ID != rs[0].ID {
		t.Errorf("runs %v, want %s then %s", p.Runs, rs[2].ID, rs[0].ID)
	}
	if p.Runs[0].FeedbackStats != nil {
		t.Errorf("run without feedback has feedback_stats %s, want null (the stored one is replaced)", p.Runs[0].FeedbackStats)
	}
	if want := `{"k":{"n":1,"avg":1,"stdev":1,"min":1,"max":1,"values":{},"comments":[]}}`; string(p.Runs[1].FeedbackStats) != want {
		t.Errorf("feedback_stats %s, want %s", p.Runs[1].FeedbackStats, want)
	}

	unknown1, unknown2 := uuid.New(), uuid.New()
	_, err = payload.Build(ctx, src, seedRule, now, now, []uuid.UUID{rs[0].ID, unknown1, rs[1].ID, unknown2})
	var missing *payload.MissingRunsError
	if !errors.As(err, &missing) || !reflect.DeepEqual(missing.IDs, []uuid.UUID{unknown1, unknown2}) {
		t.Fatalf("err = %v, want a MissingRunsError for %s and %s", err, unknown1, unknown2)
	}
	if msg := err.Error(); !strings.Contains(msg, unknown1.String()) || !strings.Contains(msg, unknown2.String()) {
		t.Errorf("error %q does not name the missing runs", msg)
	}

	if _, err := payload.Build(ctx, src, seedRule, now, now, []uuid.UUID{rs[0].ID, rs[1].ID, rs[0].ID}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate id: err = %v, want an error", err)
	}
}

// size is the body of a payload with p's window and feedback_stats and the given runs.
func size(t *testing.T, p payload.Payload, rs []runs.Run) int {
	t.Helper()
	p.Runs = rs
	return len(marshal(t, p))
}

func idsOf(rs []runs.Run) []uuid.UUID {
	ids := make([]uuid.UUID, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	return ids
}

func TestBatches(t *testing.T) {
	now := time.Now()
	rs := testRuns(t, 10, 20, 30, 40, 50)
	p := payload.Payload{RuleID: seedRule, StartTime: now, EndTime: now, Runs: rs}
	ids := idsOf(rs)
	whole := size(t, p, rs)

	cases := []struct {
		name          string
		maxRuns, max  int
		want          [][]uuid.UUID
		wantOversized []uuid.UUID
	}{
		{"all fit", 5, whole, [][]uuid.UUID{ids}, nil},
		{"by count", 2, whole, [][]uuid.UUID{ids[:2], ids[2:4], ids[4:]}, nil},
		{"exactly the first three", 10, size(t, p, rs[:3]), [][]uuid.UUID{ids[:3], ids[3:]}, nil},
		{"a byte short of the first three", 10, size(t, p, rs[:3]) - 1, [][]uuid.UUID{ids[:2], ids[2:4], ids[4:]}, nil},
		{"one run each", 10, size(t, p, rs[4:]), [][]uuid.UUID{ids[:1], ids[1:2], ids[2:3], ids[3:4], ids[4:]}, nil},
		{"the last two too large alone", 10, size(t, p, rs[2:3]),
			[][]uuid.UUID{ids[:1], ids[1:2], ids[2:3], ids[3:4], ids[4:]}, ids[3:]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := payload.Batches(p, c.maxRuns, c.max)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("batches %v\nwant    %v", got, c.want)
			}
			var over *payload.OversizeError
			switch {
			case c.wantOversized == nil && err != nil:
				t.Errorf("err = %v", err)
			case c.wantOversized != nil && (!errors.As(err, &over) || !reflect.DeepEqual(over.IDs, c.wantOversized)):
				t.Errorf("err = %v, want an OversizeError for %v", err, c.wantOversized)
			}
		})
	}

	t.Run("an oversized run between others keeps its place", func(t *testing.T) {
		rs := testRuns(t, 10, 10, 5000, 10, 10)
		p := payload.Payload{RuleID: seedRule, StartTime: now, EndTime: now, Runs: rs}
		ids := idsOf(rs)
		got, err := payload.Batches(p, 10, size(t, p, rs[:2]))
		want := [][]uuid.UUID{ids[:2], ids[2:3], ids[3:]}
		var over *payload.OversizeError
		if !reflect.DeepEqual(got, want) || !errors.As(err, &over) || !reflect.DeepEqual(over.IDs, ids[2:3]) {
			t.Errorf("batches %v, err %v; want %v and run %s oversized", got, err, want, ids[2])
		}
	})

	t.Run("none", func(t *testing.T) {
		got, err := payload.Batches(payload.Payload{RuleID: seedRule}, 1, 1)
		if got != nil || err != nil {
			t.Errorf("got %v, %v; want no batches", got, err)
		}
	})

	t.Run("bad limits", func(t *testing.T) {
		for _, lim := range [][2]int{{0, 1000}, {1, 0}, {-1, -1}} {
			if _, err := payload.Batches(p, lim[0], lim[1]); err == nil {
				t.Errorf("Batches(maxRuns %d, maxBodyBytes %d) gave no error", lim[0], lim[1])
			}
		}
	})
}

// With feedback_stats, each batch leaves room for its own stats to write
// avg, stdev, min and max with more digits than p's: the longest number, 25
// bytes, for each of the four under each key.
func TestBatchesLeaveRoomForStats(t *testing.T) {
	now := time.Now()
	rs := testRuns(t, 10, 10, 10, 10)
	one := 1.0
	p := payload.Payload{RuleID: seedRule, StartTime: now, EndTime: now, Runs: rs,
		FeedbackStats: runs.FeedbackStats{"k": {N: 4, Avg: &one, Stdev: &one, Min: &one, Max: &one}}}
	// Limits around the size of two runs: three runs never fit, two fit
	// only with the room for the longest numbers to spare.
	two := size(t, p, rs[:2])
	room := 4 * 25
	for _, limit := range []int{two, two + room - 1, two + room, size(t, p, rs[:3]) + room - 1} {
		got, err := payload.Batches(p, 10, limit)
		if err != nil {
			t.Fatal(err)
		}
		wantPer := 1
		if limit >= two+room {
			wantPer = 2
		}
		if len(got[0]) != wantPer {
			t.Errorf("limit %d (two runs are %d bytes): first batch has %d runs, want %d", limit, two, len(got[0]), wantPer)
		}
		long := -0.0000012345678901234567
		worst := p
		worst.FeedbackStats = runs.FeedbackStats{"k": {N: 4, Avg: &long, Stdev: &long, Min: &long, Max: &long}}
		for _, b := range got {
			if n := size(t, worst, rs[:len(b)]); n > limit {
				t.Errorf("limit %d: a batch of %d runs with the longest numbers is %d bytes", limit, len(b), n)
			}
		}
	}
}
