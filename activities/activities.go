// Package activities holds every piece of runhook's workflow I/O, as methods on
// Activities, which carries their dependencies.
package activities

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/alerts"
	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/metrics"
	"github.com/runhook/runhook/internal/payload"
	"github.com/runhook/runhook/internal/retention"
	"github.com/runhook/runhook/internal/secrets"
)

// Activities is registered once per worker; workflows call its methods through
// a nil *Activities.
type Activities struct {
	Store   Store
	Secrets *secrets.Box // nil when secrets.key is not set: deliveries then fail as invalid
	Sender  *delivery.Sender
	Policy  delivery.URLPolicy
	Metrics *metrics.Metrics // nil: not collected
	Logger  *slog.Logger
	// PauseAfterFailures is delivery.pause_after_failures; 0 never pauses.
	PauseAfterFailures int
	// MaxBodyBytes and MaxRunsPerDelivery bound one POST (delivery.*).
	MaxBodyBytes       int
	MaxRunsPerDelivery int
	// Offload sends inputs and outputs longer than payload.inline_max_bytes
	// as presigned URLs; the zero value keeps them inline.
	Offload payload.Offload
	// RunWebhooksDisabled is http.disable_webhooks: run webhooks registered
	// before it was set are refused, not sent.
	RunWebhooksDisabled bool
	// Windows and Delivery are config the workflows read through LoadRule.
	Windows  Windows
	Delivery DeliverySettings
	// Schedules pauses a rule's schedule when the rule pauses itself; nil: only recorded.
	Schedules Schedules
	// Alerts raises an alert when a rule pauses itself, a delivery fails
	// finally or a run webhook expires; AlertTarget posts it (alerts.url).
	// nil: alerts are off.
	Alerts      *alerts.Raiser
	AlertTarget *alerts.Target
	// StandardSchedule is delivery.standard_schedule: the delays between the
	// attempts of a `retry: standard` webhook; nil is delivery.StandardSchedule.
	StandardSchedule []time.Duration
	// Retention is config retention.*, which ApplyRetention applies; the
	// zero value keeps everything.
	Retention retention.Policy

	webhooks fanOutWebhooks
}

// Store is the storage the activities read and write, which
// *clickhouse.Store is: the small interfaces each file declares beside the
// activities that use them, so a test fakes only what it drives.
type Store interface {
	storageInfo
	planStore
	deliverStore
	ruleStore
	runWebhookStore
	retention.Store
}

// storageInfo is what CheckStorage reports.
type storageInfo interface {
	ServerVersion(ctx context.Context) (string, error)
	Database() string
	CountRuns(ctx context.Context) (uint64, error)
}

// Schedules is the part of the rule schedules an activity may change.
type Schedules interface {
	Pause(ctx context.Context, ruleID uuid.UUID, note string) error
}

// StorageStatus is what CheckStorage found.
type StorageStatus struct {
	ServerVersion string
	Database      string
	Runs          uint64
	Worker        string
}

// CheckStorage reports the ClickHouse server's version and how many runs it
// holds, as seen by the worker that ran it.
func (a *Activities) CheckStorage(ctx context.Context) (StorageStatus, error) {
	version, err := a.Store.ServerVersion(ctx)
	if err != nil {
		return StorageStatus{}, err
	}
	n, err := a.Store.CountRuns(ctx)
	if err != nil {
		return StorageStatus{}, err
	}
	host, _ := os.Hostname()
	return StorageStatus{ServerVersion: version, Database: a.Store.Database(), Runs: n, Worker: host + "/" + strconv.Itoa(os.Getpid())}, nil
}
