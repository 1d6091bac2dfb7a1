package clickhouse_test

import (
	"context"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/clickhousetest"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/testenv"
)

// The log of run writes reads back each run's writes in the order received,
// with their bodies as sent, by a range of its sort key.
func TestRunWrites(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	a, b := uuid.New(), uuid.New()
	req := uuid.New()
	body := func(s string) runs.Object {
		o, err := runs.ParseObject([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	ws := []runs.Write{
		{RunID: a, ReceivedAt: now.Add(time.Millisecond), Request: req, Seq: 1, Kind: runs.Patch, Body: body(`{"outputs":{"x":"<&>"}}`)},
		{RunID: a, ReceivedAt: now, Request: req, Seq: 0, Kind: runs.Create, Body: body(`{"name":"n"}`)},
		{RunID: b, ReceivedAt: now, Request: uuid.New(), Kind: runs.Base, Body: body(`{}`)},
	}
	var noise []runs.Write
	for range 20_000 {
		noise = append(noise, runs.Write{RunID: uuid.New(), ReceivedAt: now, Request: req, Kind: runs.Create, Body: body(`{}`)})
	}
	for _, batch := range [][]runs.Write{ws, noise} {
		if err := store.InsertRunWrites(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	got, err := store.RunWrites(ctx, []uuid.UUID{a, b, uuid.New()})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(got[a]) != 2 || len(got[b]) != 1 {
		t.Fatalf("read %v, want a's two writes and b's one", got)
	}
	first, second := got[a][0], got[a][1]
	if first.Kind != runs.Create || !first.ReceivedAt.Equal(now) || second.Seq != 1 ||
		string(second.Body.Encode()) != `{"outputs":{"x":"<&>"}}` || second.Request != req {
		t.Errorf("a's writes read back as %+v, %+v", first, second)
	}

	read, err := clickhousetest.RowsRead(ctx, store, clickhouse.RunWritesSQL, ch.GroupSet{Value: []any{a.String(), b.String()}})
	if err != nil {
		t.Fatal(err)
	}
	if read > 4*256 {
		t.Errorf("reading two runs' writes read %d rows of 20,003; the sort key is not used", read)
	}
}
