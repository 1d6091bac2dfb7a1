package clickhouse_test

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/clickhousetest"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/testenv"
)

func seedRun(t *testing.T) (runs.Run, []byte) {
	t.Helper()
	line, err := os.ReadFile("../runs/testdata/seed_run.json")
	if err != nil {
		t.Fatal(err)
	}
	r, err := runs.DecodeRun(line, time.Now())
	if err != nil {
		t.Fatalf("decode seed run: %v", err)
	}
	return r, line
}

func TestSeedRunRoundTrip(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	r, line := seedRun(t)
	if err := store.InsertRuns(ctx, []runs.Run{r}); err != nil {
		t.Fatal(err)
	}
	got, err := store.LatestRuns(ctx, []uuid.UUID{r.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("read %d runs, want 1", len(got))
	}
	if got[0].InsertedAt.IsZero() {
		t.Error("inserted_at not set by the server")
	}
	got[0].InsertedAt = time.Time{}
	if !reflect.DeepEqual(got[0], r) {
		t.Errorf("read back differs:\n got %+v\nwant %+v", got[0], r)
	}
	// The JSON written from the stored row equals the seed's run for every seed field.
	out, err := json.Marshal(got[0])
	if err != nil {
		t.Fatal(err)
	}
	var want, have map[string]any
	_ = json.Unmarshal(line, &want)
	_ = json.Unmarshal(out, &have)
	for k, v := range want {
		if !reflect.DeepEqual(have[k], v) {
			t.Errorf("field %s: got %#v, want %#v", k, have[k], v)
		}
	}
}

func TestLaterWriteSupersedes(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	start := time.Date(2024, 4, 5, 1, 28, 54, 85646000, time.UTC)
	id, session := uuid.New(), uuid.New()
	posted := runs.Run{ID: id, TraceID: id, SessionID: session, Name: "agent", RunType: "chain",
		Status: "pending", IsRoot: true, StartTime: start, ModifiedAt: start,
		ParentRunIDs: []uuid.UUID{}, Tags: []string{}}
	end := start.Add(1500 * time.Millisecond)
	patched := posted
	patched.EndTime, patched.Status, patched.ModifiedAt = &end, "success", end
	patched.Outputs = json.RawMessage(`{"answer":"42"}`)
	stale := posted
	stale.Name = "stale" // older modified_at than the patch: must not win
	stale.ModifiedAt = start.Add(-time.Second)

	for _, batch := range [][]runs.Run{{posted}, {patched}, {stale}} {
		if err := store.InsertRuns(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	got, err := store.LatestRuns(ctx, []uuid.UUID{id})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Status != "success" || got[0].Name != "agent" || string(got[0].Outputs) != `{"answer":"42"}` {
		t.Fatalf("latest = %+v, want the patched version", got)
	}
	n, err := store.CountRuns(ctx)
	if err != nil || n != 1 {
		t.Fatalf("CountRuns = %d, %v; want 1", n, err)
	}
}

func TestCompletedArrivalsWindow(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	session, other := uuid.New(), uuid.New()
	now := time.Now().UTC()
	mk := func(s uuid.UUID, done bool) runs.Run {
		id := uuid.New()
		r := runs.Run{ID: id, TraceID: id, SessionID: s, Name: "r", RunType: "llm", IsRoot: true,
			StartTime: now, ModifiedAt: now, Status: "pending"}
		if done {
			r.EndTime, r.Status = &now, "success"
		}
		return r
	}
	done, pending, elsewhere := mk(session, true), mk(session, false), mk(other, true)
	before := time.Now().Add(-2 * time.Second)
	if err := store.InsertRuns(ctx, []runs.Run{done, pending, elsewhere}); err != nil {
		t.Fatal(err)
	}
	after := time.Now().Add(2 * time.Second)
	ids, err := store.CompletedArrivals(ctx, session, before, after)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0] != done.ID {
		t.Fatalf("window = %v, want only %s", ids, done.ID)
	}
	// The window is half-open: (after, upTo].
	ids, err = store.CompletedArrivals(ctx, session, after, after.Add(time.Hour))
	if err != nil || len(ids) != 0 {
		t.Fatalf("later window = %v, %v; want empty", ids, err)
	}
}

// Queries must be served by the sort key, not by scanning: ClickHouse reports
// how many rows it read, and a window over one project reads a small range.
func TestStoredRunIDs(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	now := time.Now().UTC()
	a, b := uuid.New(), uuid.New()
	var batch []runs.Run
	for _, id := range []uuid.UUID{a, b, a} { // a has two versions
		batch = append(batch, runs.Run{ID: id, TraceID: id, SessionID: uuid.New(), Name: "r", RunType: "llm",
			IsRoot: true, StartTime: now, ModifiedAt: now, Status: "pending"})
	}
	if err := store.InsertRuns(ctx, batch); err != nil {
		t.Fatal(err)
	}
	got, err := store.StoredRunIDs(ctx, []uuid.UUID{a, uuid.New(), b})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(x, y uuid.UUID) int { return strings.Compare(x.String(), y.String()) })
	want := []uuid.UUID{a, b}
	slices.SortFunc(want, func(x, y uuid.UUID) int { return strings.Compare(x.String(), y.String()) })
	if !slices.Equal(got, want) {
		t.Errorf("StoredRunIDs = %v, want %v once each", got, want)
	}
	if got, err := store.StoredRunIDs(ctx, nil); err != nil || got != nil {
		t.Errorf("no ids: %v, %v", got, err)
	}
}

func TestWindowQueryUsesSortKey(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	now := time.Now().UTC()
	var batch []runs.Run
	sessions := []uuid.UUID{uuid.New(), uuid.New()}
	for i := 0; i < 200_000; i++ {
		id := uuid.New()
		batch = append(batch, runs.Run{ID: id, TraceID: id, SessionID: sessions[i%2], Name: "r", RunType: "llm",
			IsRoot: true, StartTime: now, EndTime: &now, ModifiedAt: now, Status: "success"})
	}
	if err := store.InsertRuns(ctx, batch); err != nil {
		t.Fatal(err)
	}
	read, err := clickhousetest.RowsRead(ctx, store, clickhouse.CompletedArrivalsSQL, uuid.New(), uint32(now.Add(-time.Hour).Unix()), uint32(now.Add(time.Hour).Unix()))
	if err != nil {
		t.Fatal(err)
	}
	// An unknown project's window must touch at most a couple of index granules, not 200,000 rows.
	if read > 3*8192 {
		t.Errorf("window query for an empty project read %d rows; the sort key is not used", read)
	}
}
