// Package app turns config into the dependencies of the worker, the server
// and the starter (secrets, the SSRF guard, the URL policy, presigned URLs,
// run-completion webhooks, activities, retention and worker options), so the
// mains stay wiring and tests build the same pieces.
package app

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/runhook/runhook/activities"
	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/config"
	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/metrics"
	"github.com/runhook/runhook/internal/netguard"
	"github.com/runhook/runhook/internal/payload"
	"github.com/runhook/runhook/internal/presign"
	"github.com/runhook/runhook/internal/retention"
	"github.com/runhook/runhook/internal/runhooks"
	"github.com/runhook/runhook/internal/secrets"
	"github.com/runhook/runhook/workflows"
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
	retired, err := retiredKeys(cfg)
	if err != nil {
		return nil, err
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

// URLPolicy is the webhook URL policy from delivery.*. It refuses a URL whose
// host is an address the dialer's Guard refuses, where the URL is given.
func URLPolicy(cfg config.Delivery) delivery.URLPolicy {
	// A bad allow_cidrs entry is refused by config.Validate and by
	// Activities; here it only opens nothing.
	guard, _ := Guard(cfg)
	return delivery.URLPolicy{
		RequireHTTPS: cfg.RequireHTTPS, AllowedDomains: cfg.AllowedDomains,
		AllowedPorts: cfg.AllowedPorts, MaxURLLength: cfg.MaxURLLength, DisableLoopback: cfg.DisableLoopback,
		Addresses: guard,
	}
}

func retiredKeys(cfg config.Secrets) ([][]byte, error) {
	var retired [][]byte
	for i, k := range cfg.RetiredKeys {
		b, err := (config.Secrets{Key: k}).KeyBytes()
		if err != nil {
			return nil, fmt.Errorf("secrets.retired_keys entry %d %v", i, err)
		}
		retired = append(retired, b)
	}
	return retired, nil
}

// Presigner signs the URLs of large inputs and outputs (api.public_url,
// payload.presign_ttl) with a key derived from secrets.key; nil when no key
// is set, and then payloads carry everything inline.
func Presigner(cfg config.Config) (*presign.Signer, error) {
	if cfg.Secrets.Key == "" {
		return nil, nil
	}
	key, err := cfg.Secrets.KeyBytes()
	if err != nil {
		return nil, fmt.Errorf("secrets.key %v", err)
	}
	retired, err := retiredKeys(cfg.Secrets)
	if err != nil {
		return nil, err
	}
	return presign.New(key, retired, cfg.API.PublicURL, cfg.Payload.PresignTTL)
}

// Presigned is the handler the API mounts at /presigned/ (without API-key
// auth); nil when secrets.key is not set, as no URL is then handed out.
func Presigned(cfg config.Config, store *clickhouse.Store) (http.Handler, error) {
	signer, err := Presigner(cfg)
	if err != nil || signer == nil {
		return nil, err
	}
	return presign.Handler(signer, store), nil
}

// RunHooks builds run-completion webhooks (http.*, delivery.*) for the API.
func RunHooks(cfg config.Config, store *clickhouse.Store, c client.Client, logger *slog.Logger) (*runhooks.Hooks, error) {
	box, err := Secrets(cfg.Secrets)
	if err != nil {
		return nil, err
	}
	if box == nil && !cfg.HTTP.DisableWebhooks {
		logger.Warn("secrets.key is not set: runs created with a webhook will be refused")
	}
	format, err := payload.ParseFormat(cfg.HTTP.WebhookFormat)
	if err != nil {
		return nil, fmt.Errorf("http.webhook_format: %w", err)
	}
	return runhooks.New(runhooks.Options{
		Store: store, Temporal: c, TaskQueue: cfg.Temporal.TaskQueue, Secrets: box,
		Policy: URLPolicy(cfg.Delivery), Disabled: cfg.HTTP.DisableWebhooks, MaxWait: cfg.HTTP.WebhookMaxWait,
		Format:      format,
		Retry:       workflows.RetrySettings{InitialInterval: cfg.Delivery.InitialInterval, BackoffCoefficient: cfg.Delivery.BackoffCoefficient},
		HTTPTimeout: cfg.Delivery.Timeout, Logger: logger,
	}), nil
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
	if err := delivery.CheckHeaders(cfg.Webhooks.Headers); err != nil {
		return nil, fmt.Errorf("webhooks.headers: %w", err)
	}
	var offload payload.Offload
	if signer, err := Presigner(cfg); err != nil {
		return nil, err
	} else if signer != nil {
		offload = payload.Offload{MaxBytes: cfg.Payload.InlineMaxBytes, Signer: signer}
	}
	return &activities.Activities{
		Store:               store,
		Secrets:             box,
		Sender:              delivery.NewSender(delivery.SenderOptions{Timeout: cfg.Delivery.Timeout, Guard: guard, Headers: cfg.Webhooks.Headers}),
		Policy:              URLPolicy(cfg.Delivery),
		Metrics:             metrics.New(),
		Logger:              logger,
		PauseAfterFailures:  cfg.Delivery.PauseAfterFailures,
		MaxBodyBytes:        cfg.Delivery.MaxBodyBytes,
		MaxRunsPerDelivery:  cfg.Delivery.MaxRunsPerDelivery,
		StandardSchedule:    cfg.Delivery.StandardSchedule,
		Offload:             offload,
		RunWebhooksDisabled: cfg.HTTP.DisableWebhooks,
		Windows: activities.Windows{
			SettleLag: cfg.Rules.SettleLag, Lookback: cfg.Rules.Lookback, MaxWindow: cfg.Rules.MaxWindow,
			PageSize: cfg.Rules.PageSize, MaxWindowsPerTick: cfg.Rules.MaxWindowsPerTick, Recent: cfg.Rules.Recent,
		},
		Delivery: activities.DeliverySettings{
			InitialInterval: cfg.Delivery.InitialInterval, BackoffCoefficient: cfg.Delivery.BackoffCoefficient,
			HTTPTimeout: cfg.Delivery.Timeout,
		},
		Retention: Retention(cfg.Retention),
	}, nil
}

// Retention is the retention policy from retention.*, for the worker's
// scheduled runs and `starter retention` alike.
func Retention(cfg config.Retention) retention.Policy {
	return retention.Policy{Runs: cfg.Runs, Feedback: cfg.Feedback, Arrivals: cfg.Arrivals, Events: cfg.Events, Attempts: cfg.Attempts}
}

// WorkerOptions are the worker's Temporal options from worker.*: fixed
// pollers rather than the SDK's two, since with two a fan-out's activities
// and a thousand rules' ticks waited on dispatch while the worker idled
// (issue 12, bench/RESULTS.md). Benches use these too, so they measure the
// worker as it runs.
func WorkerOptions(cfg config.Worker) worker.Options {
	return worker.Options{
		MaxConcurrentWorkflowTaskPollers:        cfg.Pollers,
		MaxConcurrentActivityTaskPollers:        cfg.Pollers,
		MaxConcurrentActivityExecutionSize:      cfg.MaxActivities,
		MaxConcurrentWorkflowTaskExecutionSize:  cfg.MaxWorkflowTasks,
		MaxConcurrentLocalActivityExecutionSize: cfg.MaxActivities,
	}
}
