// Package ruleservice holds the operations on rules as `starter rules` and
// the server's rules API offer them: find, list, get, plan and apply,
// delete, pause, resume, trigger, backfill, logs, preview and test. It joins
// ruleops and rulesync with what they need dialled and configured, so the
// CLI and the API share one implementation. (It is apart from ruleops
// because it holds the schedules, whose package reaches the activities that
// call ruleops.)
package ruleservice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/ruleops"
	"github.com/runhook/runhook/internal/rules"
	"github.com/runhook/runhook/internal/rulesync"
	"github.com/runhook/runhook/internal/schedules"
	"github.com/runhook/runhook/internal/secrets"
)

// ErrNoTemporal is returned by the operations that need the rules'
// schedules when the Service has no Temporal client (the server with
// http.disable_webhooks does not dial Temporal).
var ErrNoTemporal = errors.New("the rules' schedules are out of reach: this process has no Temporal connection (the server dials Temporal unless http.disable_webhooks is set)")

// ErrNoSecrets is returned by the operations that seal or open webhooks
// when secrets.key is not set.
var ErrNoSecrets = errors.New("secrets.key is not set: webhook URLs, headers and signing secrets can be neither sealed nor opened (set RUNHOOK_SECRETS_KEY)")

// NotFoundError says no current rule has the id or name asked for.
type NotFoundError struct {
	Ref string
	// ByID: Ref is a rule id, not a name.
	ByID bool
}

func (e *NotFoundError) Error() string {
	if e.ByID {
		return "no rule with id " + e.Ref
	}
	return fmt.Sprintf("no rule named %q (see `starter rules list`)", e.Ref)
}

// Service is every operation on the stored rules, with what they need. The
// CLI's `starter rules` and the server's rules API both call it, so a rule
// is listed, applied, paused or previewed the same way whichever is used.
type Service struct {
	Store *clickhouse.Store
	// Schedules has a nil Client when Temporal is not dialled; the
	// operations on schedules then return ErrNoTemporal.
	Schedules schedules.Manager
	// Secrets is nil when secrets.key is not set; Apply and Test then
	// return ErrNoSecrets.
	Secrets *secrets.Box
	Policy  delivery.URLPolicy
	// FingerprintKey keys the rules' fingerprints (rulesync.FingerprintKey).
	FingerprintKey []byte
	// Sender posts test deliveries.
	Sender ruleops.Poster
	// SettleLag and Recent are rules.settle_lag and rules.recent; Arrivals
	// is retention.arrivals, the oldest a backfill may reach.
	SettleLag, Recent, Arrivals time.Duration
	// UIURL and Namespace link a rule's schedule in the Temporal UI.
	UIURL, Namespace string
	// Redeliveries starts redeliveries; nil (Temporal not dialled) makes
	// Redeliver return ErrNoTemporal.
	Redeliveries ruleops.Starter
}

func (s *Service) scheduled() error {
	if s.Schedules.Client == nil {
		return ErrNoTemporal
	}
	return nil
}

// Find resolves a rule by id or by name; a *NotFoundError when there is none.
func (s *Service) Find(ctx context.Context, ref string) (clickhouse.StoredRule, error) {
	if id, err := uuid.Parse(ref); err == nil {
		r, ok, err := s.Store.Rule(ctx, id)
		if err != nil {
			return r, err
		}
		if !ok {
			return r, &NotFoundError{Ref: id.String(), ByID: true}
		}
		return r, nil
	}
	all, err := s.Store.Rules(ctx)
	if err != nil {
		return clickhouse.StoredRule{}, err
	}
	for _, r := range all {
		if r.Name == ref {
			return r, nil
		}
	}
	return clickhouse.StoredRule{}, &NotFoundError{Ref: ref}
}

// Summary is one rule as listed: its spec (secrets redacted) and state.
type Summary struct {
	Spec  rules.Spec
	State string
}

// List reads every rule with its state, by name.
func (s *Service) List(ctx context.Context) ([]Summary, error) {
	if err := s.scheduled(); err != nil {
		return nil, err
	}
	all, err := s.Store.Rules(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Summary, 0, len(all))
	for _, r := range all {
		spec, err := rules.ParseSpec([]byte(r.Spec))
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", r.ID, err)
		}
		st, err := s.Schedules.Get(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		state, err := s.State(ctx, r.ID, st)
		if err != nil {
			return nil, err
		}
		out = append(out, Summary{Spec: spec, State: state})
	}
	return out, nil
}

// State is active, paused or unscheduled, from the rule's described
// schedule and its pause record.
func (s *Service) State(ctx context.Context, id uuid.UUID, st schedules.State) (string, error) {
	switch {
	case !st.Exists:
		return "unscheduled (run rules apply)", nil
	case st.Paused:
		return "paused", nil
	}
	if p, ok, err := s.Store.LatestPause(ctx, id); err != nil {
		return "", err
	} else if ok && p.Paused {
		return "paused", nil
	}
	return "active", nil
}

// Detail is one rule as `rules get` shows it. Its fields are in the order
// of their JSON names, as the map it replaces printed them.
type Detail struct {
	CreatedAt string  `json:"created_at"`
	Paused    *Paused `json:"paused,omitempty"`
	// Rule is the stored spec as stored, so fields a newer runhook wrote show too.
	Rule      any          `json:"rule"`
	Schedule  ScheduleView `json:"schedule"`
	UpdatedAt string       `json:"updated_at"`
}

// Paused is a rule's pause: when and why.
type Paused struct {
	At     string `json:"at"`
	Reason string `json:"reason"`
}

// ScheduleView is a rule's Temporal schedule as described.
type ScheduleView struct {
	Exists      bool        `json:"exists"`
	ID          string      `json:"id"`
	Interval    string      `json:"interval"`
	NextTicks   []time.Time `json:"next_ticks"`
	Note        string      `json:"note"`
	Paused      bool        `json:"paused"`
	RecentTicks []time.Time `json:"recent_ticks"`
	TaskQueue   string      `json:"task_queue"`
	UI          string      `json:"ui"`
}

// Get describes one rule: its spec, its schedule and recent ticks, and its pause.
func (s *Service) Get(ctx context.Context, r clickhouse.StoredRule) (Detail, error) {
	if err := s.scheduled(); err != nil {
		return Detail{}, err
	}
	var spec any
	if err := json.Unmarshal([]byte(r.Spec), &spec); err != nil {
		return Detail{}, fmt.Errorf("rule %s: stored spec: %w", r.ID, err)
	}
	st, err := s.Schedules.Get(ctx, r.ID)
	if err != nil {
		return Detail{}, err
	}
	pause, found, err := s.Store.LatestPause(ctx, r.ID)
	if err != nil {
		return Detail{}, err
	}
	d := Detail{
		Rule:      spec,
		CreatedAt: r.CreatedAt.UTC().Format(time.RFC3339),
		UpdatedAt: r.UpdatedAt.UTC().Format(time.RFC3339),
		Schedule: ScheduleView{
			ID: schedules.ID(r.ID), Exists: st.Exists, Paused: st.Paused, Note: st.Note,
			Interval: st.Interval.String(), TaskQueue: st.TaskQueue, RecentTicks: st.Recent, NextTicks: st.Next,
			UI: fmt.Sprintf("%s/namespaces/%s/schedules/%s", s.UIURL, s.Namespace, schedules.ID(r.ID)),
		},
	}
	if found && pause.Paused {
		d.Paused = &Paused{At: pause.At.UTC().Format(time.RFC3339), Reason: pause.Reason}
	}
	return d, nil
}

func (s *Service) syncer() rulesync.Syncer {
	return rulesync.Syncer{Store: s.Store, Schedules: s.Schedules, Box: s.Secrets, Policy: s.Policy, FingerprintKey: s.FingerprintKey}
}

// Parse reads a rules file under the Service's URL policy; lookup
// substitutes ${VAR} (nil: no variable is set). Its errors are a
// *rules.FileError naming each rule and field.
func (s *Service) Parse(data []byte, lookup func(string) (string, bool)) ([]rules.Rule, error) {
	return rules.Parse(data, lookup, s.Policy)
}

// Plan compares the rules with what is stored and scheduled; with prune,
// stored rules missing from them are deleted.
func (s *Service) Plan(ctx context.Context, desired []rules.Rule, prune bool) ([]rulesync.Change, error) {
	if s.Secrets == nil {
		return nil, ErrNoSecrets
	}
	if err := s.scheduled(); err != nil {
		return nil, err
	}
	return s.syncer().Plan(ctx, desired, prune)
}

// Apply carries out a plan, then keeps the hourly retention schedule in
// shape, since applying rules is where every deployment sets up its
// schedules. It returns what it did to the retention schedule.
func (s *Service) Apply(ctx context.Context, plan []rulesync.Change) (retention string, err error) {
	if s.Secrets == nil {
		return "", ErrNoSecrets
	}
	if err := s.scheduled(); err != nil {
		return "", err
	}
	if err := s.syncer().Apply(ctx, plan); err != nil {
		return "", err
	}
	return s.Schedules.EnsureRetention(ctx)
}

// Delete removes a rule, its webhooks and its schedule; its delivery
// records are kept.
func (s *Service) Delete(ctx context.Context, r clickhouse.StoredRule) error {
	if err := s.scheduled(); err != nil {
		return err
	}
	return s.syncer().Delete(ctx, r.ID, r.Name)
}

// Pause pauses a rule (ruleops.Pause), saying why.
func (s *Service) Pause(ctx context.Context, r clickhouse.StoredRule, reason string, at time.Time) error {
	if err := s.scheduled(); err != nil {
		return err
	}
	return ruleops.Pause(ctx, s.Store, s.Schedules, r.ID, reason, at)
}

// Resume resumes a rule (ruleops.Resume), saying why.
func (s *Service) Resume(ctx context.Context, r clickhouse.StoredRule, reason string, at time.Time) error {
	if err := s.scheduled(); err != nil {
		return err
	}
	return ruleops.Resume(ctx, s.Store, s.Schedules, r.ID, reason, at)
}

// Trigger ticks a rule now (ruleops.Trigger).
func (s *Service) Trigger(ctx context.Context, r clickhouse.StoredRule) error {
	if err := s.scheduled(); err != nil {
		return err
	}
	return ruleops.Trigger(ctx, s.Schedules, r.ID)
}

// Backfill checks the window (ruleops.CheckWindow, under retention.arrivals) and
// records a backfill of (from, to] (ruleops.Backfill).
func (s *Service) Backfill(ctx context.Context, r clickhouse.StoredRule, from, to, now time.Time) (clickhouse.Backfill, error) {
	if err := ruleops.CheckWindow(from, to, now, s.Arrivals); err != nil {
		return clickhouse.Backfill{}, err
	}
	if err := s.scheduled(); err != nil {
		return clickhouse.Backfill{}, err
	}
	return ruleops.Backfill(ctx, s.Store, s.Schedules, r.ID, from, to, now)
}

// Logs reads the newest limit entries of a rule's log, newest first. A
// non-nil run reads only that run's entries, however old.
func (s *Service) Logs(ctx context.Context, r clickhouse.StoredRule, limit int, run uuid.UUID) ([]clickhouse.LogEntry, error) {
	if run != uuid.Nil {
		return s.Store.RuleLogOfRun(ctx, r.ID, run, limit)
	}
	return s.Store.RuleLog(ctx, r.ID, limit)
}

// Redeliver sends again the rule's runs whose last delivery to a webhook
// failed, at most limit (run, webhook) pairs (ruleops.Redeliver): one
// DeliverRuns workflow per webhook, returned also when a later one did not
// start.
func (s *Service) Redeliver(ctx context.Context, r clickhouse.StoredRule, limit int, at time.Time) ([]ruleops.Redelivery, error) {
	if s.Redeliveries == nil {
		return nil, ErrNoTemporal
	}
	return ruleops.Redeliver(ctx, s.Store, s.Redeliveries, r, limit, at)
}

// Spec reads a stored rule's spec.
func Spec(r clickhouse.StoredRule) (rules.Spec, error) {
	spec, err := rules.ParseSpec([]byte(r.Spec))
	if err != nil {
		return spec, fmt.Errorf("rule %s: %w", r.ID, err)
	}
	return spec, nil
}

// Preview is what the rule would pick now (ruleops.Preview), with the ticks'
// settle lag and recent window.
func (s *Service) Preview(ctx context.Context, spec rules.Spec, opts ruleops.PreviewOptions) (ruleops.Picks, ruleops.PreviewOptions, error) {
	opts.SettleLag, opts.Recent = s.SettleLag, s.Recent
	p, err := ruleops.Preview(ctx, s.Store, spec, opts)
	return p, opts, err
}

// Test sends a test delivery to each of the rule's webhooks (ruleops.Tester).
func (s *Service) Test(ctx context.Context, spec rules.Spec, now time.Time) (uuid.UUID, []ruleops.TestResult, error) {
	if s.Secrets == nil {
		return uuid.Nil, nil, ErrNoSecrets
	}
	t := ruleops.Tester{Store: s.Store, Secrets: s.Secrets, Policy: s.Policy, Sender: s.Sender}
	return t.Send(ctx, spec, now)
}

// ParseWhen reads an RFC 3339 time, or a duration before now ("-2h"), in
// whole seconds: the ends of a backfill's window.
func ParseWhen(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(d).Truncate(time.Second), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Truncate(time.Second), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration like -2h", s)
}
