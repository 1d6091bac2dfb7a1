package app

import (
	"go.temporal.io/sdk/client"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/config"
	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/ruleservice"
	"github.com/runhook/runhook/internal/rulesync"
	"github.com/runhook/runhook/internal/schedules"
)

// RuleService is the operations on rules that `starter rules` and the
// server's rules API share. c may be nil (the server with
// http.disable_webhooks): the operations on schedules then return
// ruleservice.ErrNoTemporal.
func RuleService(cfg config.Config, store *clickhouse.Store, c client.Client) (*ruleservice.Service, error) {
	box, err := Secrets(cfg.Secrets)
	if err != nil {
		return nil, err
	}
	guard, err := Guard(cfg.Delivery)
	if err != nil {
		return nil, err
	}
	s := &ruleservice.Service{
		Store: store, Secrets: box, Policy: URLPolicy(cfg.Delivery),
		Sender:    delivery.NewSender(delivery.SenderOptions{Timeout: cfg.Delivery.Timeout, Guard: guard}),
		SettleLag: cfg.Rules.SettleLag, Recent: cfg.Rules.Recent, Arrivals: cfg.Retention.Arrivals,
		UIURL: cfg.Temporal.UIURL, Namespace: cfg.Temporal.Namespace,
	}
	if c != nil {
		s.Schedules = schedules.Manager{Client: c, TaskQueue: cfg.Temporal.TaskQueue}
		s.Redeliveries = RedeliveryStarter{Client: c, TaskQueue: cfg.Temporal.TaskQueue, Delivery: cfg.Delivery}
	}
	if box != nil {
		key, _ := cfg.Secrets.KeyBytes()
		s.FingerprintKey = rulesync.FingerprintKey(key)
	}
	return s, nil
}
