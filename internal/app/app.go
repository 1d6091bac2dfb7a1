// Package app turns config into the worker's dependencies, so worker/main.go
// stays wiring and tests can build the same activities.
package app

import (
	"fmt"
	"log/slog"
	"net/netip"

	"github.com/runhook/runhook/activities"
	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/config"
	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/metrics"
	"github.com/runhook/runhook/internal/netguard"
	"github.com/runhook/runhook/internal/secrets"
)

// Secrets builds the box from secrets.key and secrets.retired_keys; nil when no key is set.
func Secrets(cfg config.Secrets) (*secrets.Box, error) {
	if cfg.Key == "" {
		return nil, nil
	}
	current, err := cfg.KeyBytes()
	if err != nil {
		return nil, fmt.Errorf("secrets.key %v", err)
	}
	var retired [][]byte
	for i, k := range cfg.RetiredKeys {
		b, err := (config.Secrets{Key: k}).KeyBytes()
		if err != nil {
			return nil, fmt.Errorf("secrets.retired_keys entry %d %v", i, err)
		}
		retired = append(retired, b)
	}
	return secrets.New(current, retired...)
}

// Guard is the SSRF policy from delivery.allow_private and delivery.allow_cidrs.
func Guard(cfg config.Delivery) (netguard.Policy, error) {
	p := netguard.Policy{AllowPrivate: cfg.AllowPrivate}
	for _, c := range cfg.AllowCIDRs {
		prefix, err := netip.ParsePrefix(c)
		if err != nil {
			return p, fmt.Errorf("delivery.allow_cidrs: %q is not a CIDR prefix", c)
		}
		p.AllowCIDRs = append(p.AllowCIDRs, prefix)
	}
	return p, nil
}

// URLPolicy is the webhook URL policy from delivery.*.
func URLPolicy(cfg config.Delivery) delivery.URLPolicy {
	return delivery.URLPolicy{
		RequireHTTPS: cfg.RequireHTTPS, AllowedDomains: cfg.AllowedDomains,
		AllowedPorts: cfg.AllowedPorts, MaxURLLength: cfg.MaxURLLength, DisableLoopback: cfg.DisableLoopback,
	}
}

// Activities builds the worker's activities from config.
func Activities(cfg config.Config, store *clickhouse.Store, logger *slog.Logger) (*activities.Activities, error) {
	box, err := Secrets(cfg.Secrets)
	if err != nil {
		return nil, err
	}
	if box == nil {
		logger.Warn("secrets.key is not set: webhook targets cannot be opened, so deliveries will fail")
	}
	guard, err := Guard(cfg.Delivery)
	if err != nil {
		return nil, err
	}
	return &activities.Activities{
		Store:              store,
		Secrets:            box,
		Sender:             delivery.NewSender(delivery.SenderOptions{Timeout: cfg.Delivery.Timeout, Guard: guard}),
		Policy:             URLPolicy(cfg.Delivery),
		Metrics:            metrics.New(),
		Logger:             logger,
		PauseAfterFailures: cfg.Delivery.PauseAfterFailures,
		MaxBodyBytes:       cfg.Delivery.MaxBodyBytes,
		MaxRunsPerDelivery: cfg.Delivery.MaxRunsPerDelivery,
		Windows: activities.Windows{
			SettleLag: cfg.Rules.SettleLag, Lookback: cfg.Rules.Lookback, MaxWindow: cfg.Rules.MaxWindow,
			PageSize: cfg.Rules.PageSize, MaxWindowsPerTick: cfg.Rules.MaxWindowsPerTick,
		},
		Delivery: activities.DeliverySettings{
			InitialInterval: cfg.Delivery.InitialInterval, BackoffCoefficient: cfg.Delivery.BackoffCoefficient,
			HTTPTimeout: cfg.Delivery.Timeout,
		},
	}, nil
}
