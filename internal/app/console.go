package app

import (
	"context"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/config"
	"github.com/runhook/runhook/internal/console"
	"github.com/runhook/runhook/internal/ruleops"
	"github.com/runhook/runhook/internal/schedules"
	"github.com/runhook/runhook/workflows"
)

// RedeliveryStarter starts a redelivery as a DeliverRuns workflow, with ID
// rule-<id>/redeliver-<time>/w<webhook>, under the configured delivery
// rules: the CLI's and the console's redeliveries are the same workflows.
type RedeliveryStarter struct {
	Client    client.Client
	TaskQueue string
	Delivery  config.Delivery
}

// StartRedelivery implements ruleops.Starter.
func (s RedeliveryStarter) StartRedelivery(ctx context.Context, d ruleops.Redelivery) (string, error) {
	id := fmt.Sprintf("%s/redeliver-%s/w%d", schedules.ID(d.RuleID), d.At.Format("20060102T150405.000Z"), d.Webhook)
	_, err := s.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: s.TaskQueue, Memo: map[string]any{"rule": d.RuleName},
	}, workflows.DeliverRuns, workflows.DeliverRunsInput{
		Batch:    workflows.Batch{RuleID: d.RuleID, WindowStart: d.At, WindowEnd: d.At, RunIDs: d.RunIDs},
		RuleName: d.RuleName, MaxRuns: d.MaxRunsPerDelivery, Webhooks: []uint16{d.Webhook}, HTTPTimeout: s.Delivery.Timeout,
		Retry: workflows.RetrySettings{InitialInterval: s.Delivery.InitialInterval, BackoffCoefficient: s.Delivery.BackoffCoefficient},
	})
	return id, err
}

// Console builds the web console of bin/server. Without a Temporal client
// (c nil: http.disable_webhooks) it shows no schedules and refuses the
// actions that need one. Its session cookies are signed with a key derived
// from secrets.key, or a random one without it.
func Console(cfg config.Config, store *clickhouse.Store, c client.Client, logger *slog.Logger) (*console.Console, error) {
	opts := console.Options{
		Store:       store,
		TemporalUI:  cfg.Temporal.UIURL,
		Namespace:   cfg.Temporal.Namespace,
		KeyHashes:   cfg.API.KeyHashes,
		Preview:     ruleops.PreviewOptions{SettleLag: cfg.Rules.SettleLag, Recent: cfg.Rules.Recent},
		StreakLimit: cfg.Delivery.PauseAfterFailures,
		Logger:      logger,
	}
	if c != nil {
		opts.Schedules = schedules.Manager{Client: c, TaskQueue: cfg.Temporal.TaskQueue}
		opts.Redeliveries = RedeliveryStarter{Client: c, TaskQueue: cfg.Temporal.TaskQueue, Delivery: cfg.Delivery}
	}
	if cfg.Secrets.Key != "" {
		key, err := cfg.Secrets.KeyBytes()
		if err != nil {
			return nil, fmt.Errorf("secrets.key %v", err)
		}
		opts.SessionKey = console.SessionKey(key)
	}
	return console.New(opts)
}
