package activities

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/golang-lru/v2/expirable"
	"go.temporal.io/sdk/activity"

	"github.com/runhook/runhook/internal/clickhouse"
)

type webhookReader interface {
	Webhook(ctx context.Context, ruleID uuid.UUID, idx uint16) (clickhouse.Webhook, bool, error)
}

// fanOutWebhooks keeps each rule webhook a fan-out (one DeliverRuns
// execution) has read, so its POSTs read their webhook once per worker
// rather than once each: a fan-out sends with the webhook as it first read
// it, and the next fan-out reads it again.
type fanOutWebhooks struct {
	once  sync.Once
	cache *expirable.LRU[fanOutWebhook, clickhouse.Webhook]
}

type fanOutWebhook struct {
	fanOut string // the DeliverRuns execution's run ID
	rule   uuid.UUID
	index  uint16
}

// fanOutTTL outlives any fan-out's POSTs and their retries.
const fanOutTTL = 10 * time.Minute

// webhook reads the rule's webhook at index once per fan-out.
func (a *Activities) webhook(ctx context.Context, rule uuid.UUID, index uint16) (clickhouse.Webhook, bool, error) {
	if !activity.IsActivity(ctx) {
		return a.Store.Webhook(ctx, rule, index)
	}
	return a.fanOutWebhook(ctx, activity.GetInfo(ctx).WorkflowExecution.RunID, rule, index)
}

func (a *Activities) fanOutWebhook(ctx context.Context, fanOut string, rule uuid.UUID, index uint16) (clickhouse.Webhook, bool, error) {
	a.webhooks.once.Do(func() { a.webhooks.cache = expirable.NewLRU[fanOutWebhook, clickhouse.Webhook](4096, nil, fanOutTTL) })
	key := fanOutWebhook{fanOut: fanOut, rule: rule, index: index}
	if w, ok := a.webhooks.cache.Get(key); ok {
		return w, true, nil
	}
	w, found, err := a.Store.Webhook(ctx, rule, index)
	if err == nil && found {
		a.webhooks.cache.Add(key, w)
	}
	return w, found, err
}
