package activities

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/testenv"
)

// A fan-out reads each webhook once: a change made during it reaches the
// next fan-out, not this one; a webhook not found is not kept.
func TestFanOutReadsAWebhookOnce(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	a := &Activities{Store: store}
	rule := uuid.New()
	put := func(url string, at time.Time) {
		t.Helper()
		if err := store.PutWebhooks(ctx, []clickhouse.Webhook{{RuleID: rule, Index: 0, URLSealed: url, URLRedacted: url, UpdatedAt: at}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, found, err := a.fanOutWebhook(ctx, "fan-out-1", rule, 0); err != nil || found {
		t.Fatalf("before any webhook: found %v, %v", found, err)
	}
	put("v1", time.Now())
	check := func(fanOut, want string) {
		t.Helper()
		w, found, err := a.fanOutWebhook(ctx, fanOut, rule, 0)
		if err != nil || !found || w.URLSealed != want {
			t.Errorf("%s read %q (found %v, %v), want %q", fanOut, w.URLSealed, found, err, want)
		}
	}
	check("fan-out-1", "v1") // the miss above was not kept
	put("v2", time.Now().Add(time.Second))
	check("fan-out-1", "v1")
	check("fan-out-2", "v2")
}
