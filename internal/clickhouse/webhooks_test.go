package clickhouse_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/testenv"
)

func TestWebhooksLatestVersion(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	rule, other := uuid.New(), uuid.New()
	w0, w1, w2 := webhook(rule, 0, "v1", at(0)), webhook(rule, 1, "v1", at(0)), webhook(rule, 2, "v1", at(0))
	w0b := webhook(rule, 0, "v2", at(10))
	w0b.SigningSecretSealed = "secret:v2"
	w0b.Format = "langgraph"
	w0b.Retry = "standard"
	gone := webhook(rule, 1, "gone", at(10))
	gone.Deleted = true
	stale := webhook(rule, 2, "stale", at(-10)) // written last, older: must not win
	for _, batch := range [][]clickhouse.Webhook{
		{w0, w1, w2, webhook(other, 0, "other", at(0))}, {w0b, gone}, {stale}, nil,
	} {
		if err := store.PutWebhooks(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}

	got, err := store.Webhooks(ctx, rule)
	if err != nil {
		t.Fatal(err)
	}
	if want := []clickhouse.Webhook{w0b, w2}; !reflect.DeepEqual(got, want) {
		t.Errorf("Webhooks =\n%+v\nwant\n%+v", got, want)
	}
	for _, c := range []struct {
		idx  uint16
		want *clickhouse.Webhook
	}{{0, &w0b}, {1, nil}, {2, &w2}, {3, nil}} {
		w, ok, err := store.Webhook(ctx, rule, c.idx)
		if err != nil {
			t.Fatal(err)
		}
		if c.want == nil && ok || c.want != nil && (!ok || !reflect.DeepEqual(w, *c.want)) {
			t.Errorf("Webhook(%d) = %+v, %v; want %+v", c.idx, w, ok, c.want)
		}
	}
	if got, err := store.Webhooks(ctx, uuid.New()); err != nil || len(got) != 0 {
		t.Errorf("Webhooks of an unknown rule = %v, %v; want none", got, err)
	}

	// A deleted position comes back with a newer version.
	back := webhook(rule, 1, "v3", at(20))
	if err := store.PutWebhooks(ctx, []clickhouse.Webhook{back}); err != nil {
		t.Fatal(err)
	}
	if w, ok, err := store.Webhook(ctx, rule, 1); err != nil || !ok || !reflect.DeepEqual(w, back) {
		t.Errorf("Webhook(1) after re-adding = %+v, %v, %v; want %+v", w, ok, err, back)
	}
	// A deletion in the same microsecond as a version wins, in both reads.
	tie := webhook(rule, 1, "tie", at(20))
	tie.Deleted = true
	if err := store.PutWebhooks(ctx, []clickhouse.Webhook{tie}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := store.Webhook(ctx, rule, 1); err != nil || ok {
		t.Errorf("Webhook(1) after a deletion tied on updated_at: found %v, %v", ok, err)
	}
	if got, err := store.Webhooks(ctx, rule); err != nil || len(got) != 2 {
		t.Errorf("Webhooks after a deletion tied on updated_at = %+v, %v; want positions 0 and 2", got, err)
	}
}

func TestWebhookPauses(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	rule := uuid.New()
	for _, p := range []clickhouse.WebhookPause{
		{RuleID: rule, Index: 1, At: at(0), Reason: "first"},
		{RuleID: rule, Index: 1, At: at(10), Reason: "second"},
		{RuleID: rule, Index: 0, At: at(5), Reason: "zero"},
		{RuleID: uuid.New(), Index: 0, At: at(5), Reason: "other"},
	} {
		if err := store.PauseWebhook(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	got, err := store.WebhookPauses(ctx, rule)
	if err != nil {
		t.Fatal(err)
	}
	want := []clickhouse.WebhookPause{{RuleID: rule, Index: 0, At: at(5), Reason: "zero"}, {RuleID: rule, Index: 1, At: at(10), Reason: "second"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("WebhookPauses =\n%+v\nwant\n%+v", got, want)
	}
}

func TestPutWebhooksRejectsUnsetTime(t *testing.T) {
	store := testenv.ClickHouse(t)
	w := webhook(uuid.New(), 0, "v1", time.Time{})
	if err := store.PutWebhooks(context.Background(), []clickhouse.Webhook{w}); err == nil {
		t.Fatal("a webhook without updated_at was written; it would outrank every later version")
	}
}
