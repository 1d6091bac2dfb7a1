package clickhouse_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/testenv"
)

func TestFeedbackRoundTrip(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	runID := uuid.New()
	line := `{"id":"` + uuid.NewString() + `","run_id":"` + runID.String() + `","key":"answer_usefulness","score":0.75,` +
		`"value":{"label":"useful"},"comment":"good","correction":null,"feedback_source":{"type":"model"},` +
		`"created_at":"2024-04-05T01:28:55.123456","modified_at":"2024-04-05T01:28:55.123456"}`
	f, err := runs.DecodeFeedback([]byte(line), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	newer := f
	score := 1.0
	newer.Score, newer.ModifiedAt = &score, f.ModifiedAt.Add(time.Microsecond)
	if err := store.InsertFeedback(ctx, []runs.Feedback{f}); err != nil {
		t.Fatal(err)
	}
	if err := store.InsertFeedback(ctx, []runs.Feedback{newer}); err != nil {
		t.Fatal(err)
	}
	got, err := store.FeedbackForRuns(ctx, []uuid.UUID{runID, uuid.New()})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("got %d feedback rows, want 1", len(got))
	}
	got[0].InsertedAt = time.Time{}
	if !reflect.DeepEqual(got[0], newer) {
		t.Errorf("read back differs:\n got %+v\nwant %+v", got[0], newer)
	}
}
