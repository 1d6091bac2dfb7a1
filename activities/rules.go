package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/rulelog"
	"github.com/runhook/runhook/internal/ruleops"
	"github.com/runhook/runhook/internal/rules"
)

// ruleStore is what the ticks' activities read and write.
type ruleStore interface {
	ruleReader
	pauseReader
	matcher
	eventWriter
	readiness
	backfills
	webhookLister
	outcomeWriter
	failureStreak
}

type ruleReader interface {
	Rule(ctx context.Context, id uuid.UUID) (clickhouse.StoredRule, bool, error)
}

// matcher finds a window's runs that newly match a rule and claims them,
// against the server's clock.
type matcher interface {
	ServerNow(ctx context.Context) (time.Time, error)
	MatchRuns(ctx context.Context, m clickhouse.Match) ([]uuid.UUID, error)
	Claim(ctx context.Context, ruleID uuid.UUID, runIDs []uuid.UUID, owner string, at time.Time) error
}

type eventWriter interface {
	RecordEvents(ctx context.Context, events []clickhouse.Event) error
}

type readiness interface {
	Ready(ctx context.Context, runIDs []uuid.UUID, keys []string) ([]uuid.UUID, error)
}

type backfills interface {
	Backfills(ctx context.Context, ruleID uuid.UUID) ([]clickhouse.Backfill, error)
	PutBackfill(ctx context.Context, b clickhouse.Backfill) error
}

// Windows shapes the windows a rule's ticks cut (config rules.*).
type Windows struct {
	SettleLag         time.Duration
	Lookback          time.Duration
	MaxWindow         time.Duration
	PageSize          int
	MaxWindowsPerTick int
	Recent            time.Duration
}

// DeliverySettings are the delivery.* values workflows put in their inputs.
type DeliverySettings struct {
	InitialInterval    time.Duration
	BackoffCoefficient float64
	HTTPTimeout        time.Duration
}

// RuleInput names a rule.
type RuleInput struct {
	RuleID uuid.UUID
}

// RuleInfo is what a tick needs to know about its rule: names, counts and
// durations, never its filter's values' secrets (a rule has none outside its
// webhooks, which stay sealed in ClickHouse).
type RuleInfo struct {
	Found       bool
	Name        string
	Paused      bool
	PauseReason string
	// Start is where the first tick's watermark starts: backfill_from, or the rule's creation.
	Start     time.Time
	Require   []string
	Wait      time.Duration
	OnTimeout string
	MaxRuns   int
	Windows   Windows
	Delivery  DeliverySettings
}

func (a *Activities) loadSpec(ctx context.Context, id uuid.UUID) (rules.Spec, clickhouse.StoredRule, bool, error) {
	stored, ok, err := a.Store.Rule(ctx, id)
	if err != nil || !ok {
		return rules.Spec{}, stored, false, err
	}
	spec, err := rules.ParseSpec([]byte(stored.Spec))
	if err != nil {
		return rules.Spec{}, stored, false, fmt.Errorf("rule %s: stored spec: %w", id, err)
	}
	return spec, stored, true, nil
}

// ruleStart is where a rule's windows begin: backfill_from, or its creation.
// Server insertion time has whole seconds and windows exclude their start, so
// the window after this start includes the creation second.
func ruleStart(spec rules.Spec, stored clickhouse.StoredRule) time.Time {
	if spec.BackfillFrom != nil {
		return spec.BackfillFrom.UTC().Truncate(time.Second)
	}
	return stored.CreatedAt.UTC().Truncate(time.Second).Add(-time.Second)
}

// LoadRule reads the rule's stored spec and pause state.
func (a *Activities) LoadRule(ctx context.Context, in RuleInput) (RuleInfo, error) {
	spec, stored, ok, err := a.loadSpec(ctx, in.RuleID)
	if err != nil || !ok {
		return RuleInfo{}, err
	}
	return a.ruleInfo(ctx, in.RuleID, spec, stored)
}

func (a *Activities) ruleInfo(ctx context.Context, id uuid.UUID, spec rules.Spec, stored clickhouse.StoredRule) (RuleInfo, error) {
	info := RuleInfo{
		Found: true, Name: stored.Name, Start: ruleStart(spec, stored),
		Require: spec.Feedback.Require, OnTimeout: spec.Feedback.OnTimeout, MaxRuns: spec.MaxRunsPerDelivery,
		Windows: a.Windows, Delivery: a.Delivery,
	}
	var err error
	if info.Wait, err = spec.FeedbackWait(); err != nil {
		return RuleInfo{}, fmt.Errorf("rule %s: %w", id, err)
	}
	if p, ok, err := a.Store.LatestPause(ctx, id); err != nil {
		return RuleInfo{}, err
	} else if ok && p.Paused {
		info.Paused, info.PauseReason = true, p.Reason
	}
	return info, nil
}

// BeginTickInput starts a tick.
type BeginTickInput struct {
	RuleID uuid.UUID
	// Watermark is the last tick's; zero starts at the rule's start.
	Watermark time.Time
	// OwnerPrefix names the tick in claims: ClaimOwner(OwnerPrefix, after, page).
	OwnerPrefix string
}

// TickStart is everything a tick needs before it hands runs on: the rule,
// its oldest pending backfill, and the first page of the window after the
// watermark (not read when the rule is missing or paused).
type TickStart struct {
	Rule     RuleInfo
	Backfill BackfillState
	// After is where the first window starts: the watermark, or the rule's start.
	After time.Time
	Page  MatchResult
}

// ClaimOwner names one page of a tick's window in rule_claims: a retried
// match with the same owner gets the same runs back.
func ClaimOwner(prefix string, after time.Time, page int) string {
	return fmt.Sprintf("%s/%s/p%d", prefix, after.Format(time.RFC3339), page)
}

// BeginTick is a tick's one activity when there is nothing to hand on: it
// reads the rule, its pause, its pending backfill and ClickHouse's clock,
// and matches and claims the first page of the next window, so an idle tick
// costs one activity, not three.
func (a *Activities) BeginTick(ctx context.Context, in BeginTickInput) (TickStart, error) {
	spec, stored, ok, err := a.loadSpec(ctx, in.RuleID)
	if err != nil || !ok {
		return TickStart{}, err
	}
	var out TickStart
	if out.Rule, err = a.ruleInfo(ctx, in.RuleID, spec, stored); err != nil || out.Rule.Paused {
		return out, err
	}
	if out.Backfill, err = a.NextBackfill(ctx, RuleInput{RuleID: in.RuleID}); err != nil {
		return TickStart{}, err
	}
	out.After = in.Watermark
	if out.After.IsZero() {
		out.After = out.Rule.Start
	}
	out.Page, err = a.matchWindow(ctx, spec, stored, MatchInput{RuleID: in.RuleID, After: out.After,
		Owner: ClaimOwner(in.OwnerPrefix, out.After, 0)})
	return out, err
}

// MatchInput asks for one page of one window of a rule.
type MatchInput struct {
	RuleID uuid.UUID
	After  time.Time
	// UpTo is the window's end; zero cuts it now: min(After + max window,
	// server now - settle lag).
	UpTo time.Time
	// Owner claims the page; a retry with the same Owner gets the same runs.
	Owner string
}

// MatchResult is one page of a window: the runs it claimed for the rule.
type MatchResult struct {
	After, UpTo time.Time
	RunIDs      []uuid.UUID
	// More: the page was full, so the window may hold more runs.
	More bool
	// CaughtUp: the window reached the settle lag, so there is nothing newer to read.
	CaughtUp bool
}

// MatchWindow finds the runs of the window that newly match the rule, claims
// them (so no other tick, backfill or retry hands them on again) and records
// them as matched.
func (a *Activities) MatchWindow(ctx context.Context, in MatchInput) (MatchResult, error) {
	spec, stored, ok, err := a.loadSpec(ctx, in.RuleID)
	if err != nil {
		return MatchResult{}, err
	}
	if !ok {
		return MatchResult{After: in.After, UpTo: in.After, CaughtUp: true}, nil
	}
	return a.matchWindow(ctx, spec, stored, in)
}

func (a *Activities) matchWindow(ctx context.Context, spec rules.Spec, stored clickhouse.StoredRule, in MatchInput) (MatchResult, error) {
	var err error
	res := MatchResult{After: in.After, UpTo: in.UpTo}
	read := clickhouse.Window{After: in.After, UpTo: in.UpTo}
	if res.UpTo.IsZero() {
		now, err := a.Store.ServerNow(ctx)
		if err != nil {
			return MatchResult{}, err
		}
		end := now.Add(-a.Windows.SettleLag)
		res.CaughtUp = true
		if capped := in.After.Add(a.Windows.MaxWindow); capped.Before(end) {
			end, res.CaughtUp = capped, false
		}
		if !end.After(in.After) {
			res.UpTo = in.After
			return res, nil
		}
		res.UpTo = end
		// A window cut at the clock also reads a lookback before it (config
		// rules.lookback), never before the rule's start; the claims drop
		// what earlier windows handed on.
		read = clickhouse.Window{After: in.After.Add(-a.Windows.Lookback), UpTo: end}
		if start := ruleStart(spec, stored); read.After.Before(start) {
			read.After = start
		}
	}

	m, err := ruleops.MatchFor(spec, read)
	if err != nil {
		return MatchResult{}, fmt.Errorf("rule %s: %w", in.RuleID, err)
	}
	m.Owner, m.Limit, m.Recent = in.Owner, a.Windows.PageSize, a.Windows.Recent
	ids, err := a.Store.MatchRuns(ctx, m)
	if err != nil {
		return MatchResult{}, err
	}
	res.RunIDs, res.More = ids, len(ids) == m.Limit
	if len(ids) == 0 {
		return res, nil
	}
	now := time.Now()
	if err := a.Store.Claim(ctx, in.RuleID, ids, in.Owner, now); err != nil {
		return MatchResult{}, err
	}
	reason := fmt.Sprintf("window (%s, %s]", res.After.Format(time.RFC3339), res.UpTo.Format(time.RFC3339))
	a.recordEvents(ctx, in.RuleID, ids, rulelog.Matched, reason, now)
	return res, nil
}

// recordEvents writes rule events; losing them loses log lines, not runs, so
// a failure is logged rather than retried.
func (a *Activities) recordEvents(ctx context.Context, rule uuid.UUID, ids []uuid.UUID, event, reason string, at time.Time) {
	wf := ""
	if activity.IsActivity(ctx) {
		wf = activity.GetInfo(ctx).WorkflowExecution.ID
	}
	events := make([]clickhouse.Event, len(ids))
	for i, id := range ids {
		events[i] = clickhouse.Event{RuleID: rule, RunID: id, Event: event, Reason: reason, At: at, WorkflowID: wf}
	}
	if err := a.Store.RecordEvents(ctx, events); err != nil {
		a.log().Error("record rule events", "rule_id", rule, "event", event, "error", err)
	}
}

// FeedbackInput asks which runs carry every required feedback key.
type FeedbackInput struct {
	RuleID  uuid.UUID
	RunIDs  []uuid.UUID
	Require []string
}

// CheckFeedback returns the runs that carry every required key.
func (a *Activities) CheckFeedback(ctx context.Context, in FeedbackInput) ([]uuid.UUID, error) {
	return a.Store.Ready(ctx, in.RunIDs, in.Require)
}

// EventInput records one event for several runs of a rule.
type EventInput struct {
	RuleID uuid.UUID
	RunIDs []uuid.UUID
	Event  string
	Reason string
}

// RecordEvents writes an event per run, for `starter rules logs`.
func (a *Activities) RecordEvents(ctx context.Context, in EventInput) error {
	a.recordEvents(ctx, in.RuleID, in.RunIDs, in.Event, in.Reason, time.Now())
	return nil
}

// SkipInput gives up on runs: they are recorded skipped for every webhook.
type SkipInput struct {
	RuleID     uuid.UUID
	RunIDs     []uuid.UUID
	DeliveryID string
	Reason     string
}

// SkipRuns records the runs as skipped, with the reason, for each webhook of
// the rule, as RecordOutcome does for a delivery's skipped runs.
func (a *Activities) SkipRuns(ctx context.Context, in SkipInput) error {
	hooks, err := a.Store.Webhooks(ctx, in.RuleID)
	if err != nil {
		return err
	}
	for _, w := range hooks {
		if _, err := a.RecordOutcome(ctx, OutcomeInput{DeliveryID: in.DeliveryID, RuleID: in.RuleID, WebhookIndex: w.Index,
			RunIDs: in.RunIDs, Skipped: true, Reason: in.Reason}); err != nil {
			return err
		}
	}
	return nil
}

// BackfillState is the oldest unfinished backfill of a rule.
type BackfillState struct {
	Found    bool
	ID       string
	To       time.Time
	DoneUpTo time.Time
}

// NextBackfill finds the rule's oldest backfill that is not done.
func (a *Activities) NextBackfill(ctx context.Context, in RuleInput) (BackfillState, error) {
	bs, err := a.Store.Backfills(ctx, in.RuleID)
	if err != nil {
		return BackfillState{}, err
	}
	for _, b := range bs {
		if !b.Done() {
			return BackfillState{Found: true, ID: b.ID, To: b.To, DoneUpTo: b.DoneUpTo}, nil
		}
	}
	return BackfillState{}, nil
}

// AdvanceInput records a backfill's progress.
type AdvanceInput struct {
	RuleID   uuid.UUID
	ID       string
	DoneUpTo time.Time
}

// AdvanceBackfill records that the backfill's windows up to DoneUpTo were handed on.
func (a *Activities) AdvanceBackfill(ctx context.Context, in AdvanceInput) error {
	bs, err := a.Store.Backfills(ctx, in.RuleID)
	if err != nil {
		return err
	}
	for _, b := range bs {
		if b.ID != in.ID {
			continue
		}
		if !in.DoneUpTo.After(b.DoneUpTo) {
			return nil
		}
		b.DoneUpTo, b.UpdatedAt = in.DoneUpTo, time.Now()
		return a.Store.PutBackfill(ctx, b)
	}
	return fmt.Errorf("rule %s has no backfill %s", in.RuleID, in.ID)
}
