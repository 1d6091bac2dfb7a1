// Package alerts holds the events runhook raises when something gives up (a
// rule paused itself, a delivery ran out of attempts, a run-completion
// webhook expired), the Raiser that starts one Alert workflow per event, and
// the Target that posts an event to alerts.url through the webhook sender.
package alerts

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/signing"
)

// Type says what gave up.
type Type string

const (
	// RulePaused: a rule paused itself after delivery.pause_after_failures
	// failed deliveries in a row.
	RulePaused Type = "rule.paused"
	// DeliveryFailed: a rule's delivery ended failed, its attempts spent or
	// its failure final.
	DeliveryFailed Type = "delivery.failed"
	// RunWebhookExpired: a run was not stored ended within
	// http.webhook_max_wait, so its run-completion webhook was never sent.
	RunWebhookExpired Type = "run_webhook.expired"
)

// Event is the JSON body of one alert. Its ID is the webhook-id, the same on
// every attempt and for every raise of the same event.
type Event struct {
	Type Type      `json:"type"`
	ID   string    `json:"id"`
	At   time.Time `json:"at"`
	// RuleID and RuleName are the rule's (rule.paused, delivery.failed).
	RuleID   uuid.UUID `json:"rule_id,omitzero"`
	RuleName string    `json:"rule_name,omitempty"`
	// WebhookIndex is the rule's webhook that failed (delivery.failed).
	WebhookIndex *uint16 `json:"webhook_index,omitempty"`
	// DeliveryID is the delivery's webhook-id: the one that failed, or for
	// rule.paused the one whose failure paused the rule.
	DeliveryID string `json:"delivery_id,omitempty"`
	// RunID is the run of run_webhook.expired.
	RunID uuid.UUID `json:"run_id,omitzero"`
	// Runs is how many runs the failed delivery held.
	Runs int `json:"runs,omitempty"`
	// Failures is the failed deliveries in a row that paused the rule.
	Failures int `json:"failures,omitempty"`
	// Reason is already redacted where it was recorded: no URL query, header
	// value or secret.
	Reason string `json:"reason,omitempty"`
}

// ID is an event's ID: derived from what identifies the event, so a
// trigger that runs again (an activity retried) raises the same ID, which
// the Alert workflow's ID and the receiver's deduplication key on.
func ID(t Type, parts ...string) string {
	sum := sha256.Sum256([]byte(string(t) + "\x00" + strings.Join(parts, "\x00")))
	return fmt.Sprintf("%s_%x", t, sum[:16])
}

// RulePausedEvent is the alert of a rule that paused itself when delivery
// deliveryID failed.
func RulePausedEvent(ruleID uuid.UUID, deliveryID string, failures int, reason string, at time.Time) Event {
	return Event{Type: RulePaused, ID: ID(RulePaused, ruleID.String(), deliveryID), At: at.UTC(),
		RuleID: ruleID, DeliveryID: deliveryID, Failures: failures, Reason: reason}
}

// DeliveryFailedEvent is the alert of a rule's delivery that ended failed.
func DeliveryFailedEvent(ruleID uuid.UUID, webhook uint16, deliveryID string, runs int, reason string, at time.Time) Event {
	return Event{Type: DeliveryFailed, ID: ID(DeliveryFailed, ruleID.String(), deliveryID), At: at.UTC(),
		RuleID: ruleID, WebhookIndex: &webhook, DeliveryID: deliveryID, Runs: runs, Reason: reason}
}

// RunWebhookExpiredEvent is the alert of a run whose webhook gave up waiting
// for the run to end.
func RunWebhookExpiredEvent(runID uuid.UUID, deliveryID, reason string, at time.Time) Event {
	return Event{Type: RunWebhookExpired, ID: ID(RunWebhookExpired, runID.String()), At: at.UTC(),
		RunID: runID, DeliveryID: deliveryID, Reason: reason}
}

// Starter starts the Alert workflow of an event under an ID derived from
// the event's; started is false when that workflow already exists (the event
// was raised before).
type Starter interface {
	StartAlert(ctx context.Context, ev Event) (started bool, err error)
}

// Counter counts alerts by type (internal/metrics).
type Counter interface {
	Alert(typ string)
	AlertFailed(typ string)
}

// Raiser raises events. A nil *Raiser raises nothing: alerts.url is unset.
type Raiser struct {
	Starter Starter
	Metrics Counter // nil: not counted
	Logger  *slog.Logger
}

// Raise starts the event's Alert workflow, which posts it with retries of
// its own, and counts it once. It never fails its caller: what raises an
// alert has already done its own work, which an alert must not undo or
// repeat. An alert that cannot be started is logged and counted failed.
func (r *Raiser) Raise(ctx context.Context, ev Event) {
	if r == nil {
		return
	}
	log := r.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("alert", ev.Type, "alert_id", ev.ID)
	started, err := r.Starter.StartAlert(ctx, ev)
	switch {
	case err != nil:
		log.Error("start alert", "error", err)
		if r.Metrics != nil {
			r.Metrics.AlertFailed(string(ev.Type))
		}
	case started:
		log.Info("alert raised")
		if r.Metrics != nil {
			r.Metrics.Alert(string(ev.Type))
		}
	}
}

// Sender posts one request: *delivery.Sender, the webhooks' own, so the SSRF
// guard, the timeout and the static webhooks.headers apply to alerts too.
type Sender interface {
	Send(ctx context.Context, r delivery.Request) delivery.Result
}

// Target is alerts.url and its signing key.
type Target struct {
	url    string
	keys   [][]byte
	sender Sender
}

// NewTarget opens alerts.url with its optional whsec_ signing secret; nil
// when the URL is empty.
func NewTarget(url, signingSecret string, sender Sender) (*Target, error) {
	if url == "" {
		return nil, nil
	}
	t := &Target{url: url, sender: sender}
	if signingSecret != "" {
		key, err := signing.ParseSecret(signingSecret)
		if err != nil {
			return nil, fmt.Errorf("alerts.signing_secret: %w", err)
		}
		t.keys = [][]byte{key}
	}
	return t, nil
}

// Post makes one attempt to deliver the event, its ID as webhook-id.
func (t *Target) Post(ctx context.Context, ev Event) delivery.Result {
	body, err := json.Marshal(ev)
	if err != nil {
		return delivery.Result{Class: delivery.Invalid, Err: "encode alert: " + err.Error()}
	}
	return t.sender.Send(ctx, delivery.Request{URL: t.url, Body: body, MessageID: ev.ID, SigningKeys: t.keys})
}

// URL is alerts.url redacted, for logs.
func (t *Target) URL() string { return delivery.RedactURL(t.url) }
