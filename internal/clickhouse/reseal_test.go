package clickhouse_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/testenv"
)

func TestLiveWebhooks(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	t0 := time.Now().UTC().Truncate(time.Microsecond)
	a, b := uuid.New(), uuid.New()
	hook := func(rule uuid.UUID, idx uint16, sealed string, at time.Time, deleted bool) clickhouse.Webhook {
		return clickhouse.Webhook{RuleID: rule, Index: idx, URLSealed: sealed, URLRedacted: "https://h/", KeyID: "k", UpdatedAt: at, Deleted: deleted}
	}
	if err := store.PutWebhooks(ctx, []clickhouse.Webhook{
		hook(a, 0, "rh1:k:a0-old", t0, false),
		hook(a, 0, "rh1:k:a0-new", t0.Add(time.Millisecond), false),
		hook(a, 1, "rh1:k:a1", t0, false),
		hook(a, 1, "", t0.Add(time.Millisecond), true), // removed
		hook(b, 0, "rh1:k:b0", t0, false),
	}); err != nil {
		t.Fatal(err)
	}
	got, err := store.LiveWebhooks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sealed := map[string]bool{}
	for _, w := range got {
		sealed[w.URLSealed] = true
	}
	if len(got) != 2 || !sealed["rh1:k:a0-new"] || !sealed["rh1:k:b0"] {
		t.Errorf("LiveWebhooks = %+v, want the newest of a/0 and b/0 only", got)
	}
}

func TestRunWebhooksAfter(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	t0 := time.Now().UTC().Truncate(time.Microsecond)
	var ws []clickhouse.RunWebhook
	for range 5 {
		id := uuid.New()
		ws = append(ws,
			clickhouse.RunWebhook{RunID: id, URLSealed: "rh1:k:old", URLRedacted: "https://h/", KeyID: "k", CreatedAt: t0},
			clickhouse.RunWebhook{RunID: id, URLSealed: "rh1:k:new", URLRedacted: "https://h/", KeyID: "k", CreatedAt: t0.Add(time.Millisecond), WorkflowID: "w"})
	}
	if err := store.PutRunWebhooks(ctx, ws); err != nil {
		t.Fatal(err)
	}
	seen := map[uuid.UUID]bool{}
	after, pages := uuid.Nil, 0
	for {
		page, err := store.RunWebhooksAfter(ctx, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		pages++
		for _, w := range page {
			if seen[w.RunID] || w.URLSealed != "rh1:k:new" || w.WorkflowID != "w" || !w.CreatedAt.Equal(t0.Add(time.Millisecond)) {
				t.Errorf("page %d: %+v, want each run once, at its newest", pages, w)
			}
			seen[w.RunID] = true
		}
		after = page[len(page)-1].RunID
	}
	if len(seen) != 5 || pages != 3 {
		t.Errorf("read %d runs in %d pages, want 5 in 3", len(seen), pages)
	}
}
