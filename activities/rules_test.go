package activities

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/rulelog"
	"github.com/runhook/runhook/internal/rules"
)

var ruleCreated = time.Date(2026, 12, 5, 7, 0, 0, 0, time.UTC)

// addRule stores a rule created at ruleCreated.
func (f *fakeStore) addRule(t *testing.T, spec rules.Spec) uuid.UUID {
	t.Helper()
	spec.ID, spec.Name, spec.Interval, spec.SamplingRate = uuid.New(), "r", "1m", 1
	raw, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	f.rules[spec.ID] = clickhouse.StoredRule{ID: spec.ID, Name: spec.Name, Spec: string(raw), CreatedAt: ruleCreated}
	return spec.ID
}

func ruleActivities(s *fakeStore) *Activities {
	return &Activities{Store: s, Windows: Windows{SettleLag: 10 * time.Second, Lookback: time.Minute, MaxWindow: time.Hour, PageSize: 2}}
}

func TestMatchWindowCutsClaimsAndRecords(t *testing.T) {
	s := newFakeStore()
	rule := s.addRule(t, rules.Spec{Filter: `eq(run_type, "llm")`})
	s.now = ruleCreated.Add(30 * time.Minute)
	s.match = []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	a := ruleActivities(s)
	ctx := context.Background()
	after := ruleCreated.Add(10 * time.Minute)

	res, err := a.MatchWindow(ctx, MatchInput{RuleID: rule, After: after, Owner: "tick/p0"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.UpTo.Equal(s.now.Add(-10*time.Second)) || !res.CaughtUp || !res.More || !slices.Equal(res.RunIDs, s.match[:2]) {
		t.Fatalf("result %+v", res)
	}
	m := s.matches[0]
	if m.Filter == nil || m.TraceFilter != nil || m.Limit != 2 || m.Owner != "tick/p0" ||
		!m.Window.After.Equal(after.Add(-time.Minute)) || !m.Window.UpTo.Equal(res.UpTo) {
		t.Fatalf("match %+v: want the window with its lookback, the filter parsed", m)
	}
	if s.claims[s.match[0]] != "tick/p0" || len(s.events) != 2 || s.events[0].Event != rulelog.Matched {
		t.Fatalf("claims %v, events %+v", s.claims, s.events)
	}

	// A retry of the same page gets the same runs; the next page the rest.
	if again, err := a.MatchWindow(ctx, MatchInput{RuleID: rule, After: after, Owner: "tick/p0"}); err != nil || !slices.Equal(again.RunIDs, res.RunIDs) {
		t.Fatalf("retry: %v, %v", again.RunIDs, err)
	}
	next, err := a.MatchWindow(ctx, MatchInput{RuleID: rule, After: after, UpTo: res.UpTo, Owner: "tick/p1"})
	if err != nil || !slices.Equal(next.RunIDs, s.match[2:]) || next.More {
		t.Fatalf("next page: %+v, %v", next, err)
	}
}

func TestMatchWindowCapsTheWindowAndTheLookback(t *testing.T) {
	s := newFakeStore()
	rule := s.addRule(t, rules.Spec{})
	s.now = ruleCreated.Add(3 * time.Hour)
	a := ruleActivities(s)
	start := ruleCreated.Add(-time.Second) // the rule's start: its creation second is in its first window

	res, err := a.MatchWindow(context.Background(), MatchInput{RuleID: rule, After: start, Owner: "o"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.UpTo.Equal(start.Add(time.Hour)) || res.CaughtUp || len(res.RunIDs) != 0 {
		t.Fatalf("result %+v: want one max window, not caught up", res)
	}
	if w := s.matches[0].Window; !w.After.Equal(start) || s.matches[0].Filter != nil {
		t.Fatalf("read %+v: the lookback stops at the rule's start", w)
	}
}

func TestMatchWindowWithNothingToRead(t *testing.T) {
	s := newFakeStore()
	a := ruleActivities(s)
	after := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)

	// A rule that is gone is caught up where it was.
	res, err := a.MatchWindow(context.Background(), MatchInput{RuleID: uuid.New(), After: after})
	if err != nil || !res.CaughtUp || !res.UpTo.Equal(after) {
		t.Fatalf("missing rule: %+v, %v", res, err)
	}
	// A window that would end before it starts reads nothing.
	rule := s.addRule(t, rules.Spec{})
	s.now = after.Add(5 * time.Second)
	res, err = a.MatchWindow(context.Background(), MatchInput{RuleID: rule, After: after})
	if err != nil || !res.CaughtUp || !res.UpTo.Equal(after) || len(s.matches) != 0 {
		t.Fatalf("inside the settle lag: %+v, %v, %d matches", res, err, len(s.matches))
	}
}

func TestBeginTick(t *testing.T) {
	s := newFakeStore()
	rule := s.addRule(t, rules.Spec{MaxRunsPerDelivery: 7})
	s.now = ruleCreated.Add(time.Minute)
	s.match = []uuid.UUID{uuid.New()}
	s.fills = []clickhouse.Backfill{
		{RuleID: rule, ID: "done", To: ruleCreated, DoneUpTo: ruleCreated},
		{RuleID: rule, ID: "pending", To: ruleCreated, DoneUpTo: ruleCreated.Add(-time.Hour)},
	}
	a := ruleActivities(s)
	ctx := context.Background()

	got, err := a.BeginTick(ctx, BeginTickInput{RuleID: rule, OwnerPrefix: "tick"})
	if err != nil {
		t.Fatal(err)
	}
	start := ruleCreated.Add(-time.Second)
	if !got.Rule.Found || got.Rule.MaxRuns != 7 || !got.After.Equal(start) || got.Backfill.ID != "pending" ||
		!slices.Equal(got.Page.RunIDs, s.match) || s.matches[0].Owner != ClaimOwner("tick", start, 0) {
		t.Fatalf("tick start %+v", got)
	}

	s.pauses = append(s.pauses, clickhouse.Pause{RuleID: rule, Paused: true, Reason: "by hand"})
	got, err = a.BeginTick(ctx, BeginTickInput{RuleID: rule, Watermark: s.now, OwnerPrefix: "tick2"})
	if err != nil || !got.Rule.Paused || got.Rule.PauseReason != "by hand" || len(s.matches) != 1 {
		t.Fatalf("paused: %+v, %v: want no match", got, err)
	}
	if got, err := a.BeginTick(ctx, BeginTickInput{RuleID: uuid.New()}); err != nil || got.Rule.Found {
		t.Fatalf("missing rule: %+v, %v", got, err)
	}
}

func TestCheckFeedbackAndSkipRuns(t *testing.T) {
	s := newFakeStore()
	rule := uuid.New()
	ready, waiting := uuid.New(), uuid.New()
	s.ready[ready] = true
	s.webhooks = []clickhouse.Webhook{{RuleID: rule, Index: 0}, {RuleID: rule, Index: 3}}
	a := ruleActivities(s)
	ctx := context.Background()

	got, err := a.CheckFeedback(ctx, FeedbackInput{RuleID: rule, RunIDs: []uuid.UUID{ready, waiting}, Require: []string{"k"}})
	if err != nil || !slices.Equal(got, []uuid.UUID{ready}) {
		t.Fatalf("ready %v, %v", got, err)
	}
	if err := a.SkipRuns(ctx, SkipInput{RuleID: rule, RunIDs: []uuid.UUID{waiting}, DeliveryID: "wait", Reason: "timed out"}); err != nil {
		t.Fatal(err)
	}
	if len(s.outcomes) != 2 || s.outcomes[1].WebhookIndex != 3 || s.outcomes[1].Outcome != rulelog.Skipped || s.outcomes[1].RunID != waiting {
		t.Fatalf("outcomes %+v: want the run skipped for each webhook", s.outcomes)
	}
	if err := a.RecordEvents(ctx, EventInput{RuleID: rule, RunIDs: []uuid.UUID{waiting}, Event: rulelog.TimedOut, Reason: "r"}); err != nil ||
		len(s.events) != 1 || s.events[0].Event != rulelog.TimedOut {
		t.Fatalf("events %+v, %v", s.events, err)
	}
}

func TestAdvanceBackfillMovesForwardOnly(t *testing.T) {
	s := newFakeStore()
	rule := uuid.New()
	to := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	s.fills = []clickhouse.Backfill{{RuleID: rule, ID: "b", To: to, DoneUpTo: to.Add(-2 * time.Hour)}}
	a := ruleActivities(s)
	ctx := context.Background()

	for _, upTo := range []time.Time{to.Add(-time.Hour), to.Add(-90 * time.Minute)} {
		if err := a.AdvanceBackfill(ctx, AdvanceInput{RuleID: rule, ID: "b", DoneUpTo: upTo}); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.fills[0].DoneUpTo; !got.Equal(to.Add(-time.Hour)) {
		t.Fatalf("done up to %s, want an hour before its end", got)
	}
	if err := a.AdvanceBackfill(ctx, AdvanceInput{RuleID: rule, ID: "other", DoneUpTo: to}); err == nil {
		t.Fatal("advanced a backfill that does not exist")
	}
	if bf, err := a.NextBackfill(ctx, RuleInput{RuleID: rule}); err != nil || !bf.Found || bf.ID != "b" {
		t.Fatalf("next %+v, %v", bf, err)
	}
}
