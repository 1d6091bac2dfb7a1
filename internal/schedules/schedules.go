// Package schedules keeps one Temporal Schedule per rule: ID rule-<rule id>,
// every interval it starts a RuleTick, never two at once for a rule.
package schedules

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/runhook/runhook/workflows"
)

// ID is the schedule of a rule.
func ID(rule uuid.UUID) string { return "rule-" + rule.String() }

// TickWorkflowID is the ID ticks are started with; Temporal appends the
// nominal time, so every tick reads as rule-<id>/tick-<time> in the UI.
func TickWorkflowID(rule uuid.UUID) string { return ID(rule) + "/tick" }

// Desired is what a rule's schedule should be.
type Desired struct {
	RuleID   uuid.UUID
	Name     string
	Interval time.Duration
	Enabled  bool
}

// State is a schedule as Temporal has it.
type State struct {
	Exists    bool
	Interval  time.Duration
	Offset    time.Duration
	Paused    bool
	Note      string
	TaskQueue string
	// Recent and Next are the latest action times and the next ones.
	Recent []time.Time
	Next   []time.Time
	// Ticks are the workflows of the recent actions, oldest first.
	Ticks []client.ScheduleWorkflowExecution
}

// Manager creates and changes rule schedules.
type Manager struct {
	Client    client.Client
	TaskQueue string
}

// Offset spreads rules over their interval: every rule's ticks come at the
// same point of the interval each time, but rules with the same interval do
// not all tick in the same second (1,000 one-minute rules on the minute
// swamp a Temporal server's scheduler; see bench/RESULTS.md).
func Offset(rule uuid.UUID, interval time.Duration) time.Duration {
	if interval < 2*time.Second {
		return 0
	}
	h := fnv.New64a()
	h.Write(rule[:])
	return time.Duration(h.Sum64()%uint64(interval/time.Second)) * time.Second
}

func spec(d Desired) *client.ScheduleSpec {
	return &client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: d.Interval, Offset: Offset(d.RuleID, d.Interval)}}}
}

// Overlap is the ticks' overlap policy: a tick that comes while the previous
// one still runs is skipped (the next one reads from the same watermark).
const Overlap = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP

func (m Manager) action(d Desired) *client.ScheduleWorkflowAction {
	return &client.ScheduleWorkflowAction{
		ID:        TickWorkflowID(d.RuleID),
		Workflow:  workflows.RuleTick,
		Args:      []any{workflows.TickInput{RuleID: d.RuleID}},
		TaskQueue: m.TaskQueue,
		Memo:      map[string]any{"rule": d.Name},
		// A tick is a few short activities; one stuck longer than this is
		// abandoned, and the next tick goes on from the same watermark.
		WorkflowExecutionTimeout: 30 * time.Minute,
	}
}

// Create makes the schedule of a new rule, paused if the rule is disabled.
func (m Manager) Create(ctx context.Context, d Desired) error {
	_, err := m.Client.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:            ID(d.RuleID),
		Spec:          *spec(d),
		Action:        m.action(d),
		Overlap:       Overlap,
		CatchupWindow: time.Minute,
		Paused:        !d.Enabled,
		Note:          note(d.Enabled),
		Memo:          map[string]any{"rule": d.Name},
	})
	if err != nil {
		return fmt.Errorf("create schedule %s: %w", ID(d.RuleID), err)
	}
	return nil
}

func note(enabled bool) string {
	if enabled {
		return "enabled by starter rules apply"
	}
	return "disabled in the rules file (enabled: false)"
}

// Update brings an existing schedule to d. Its pause state follows the rule's
// enabled flag only when that flag changed (setEnabled), so an operator's
// pause survives re-applying an unchanged file.
func (m Manager) Update(ctx context.Context, d Desired, setEnabled bool) error {
	return m.reshape(ctx, ID(d.RuleID), spec(d), m.action(d), func(s *client.Schedule) {
		if setEnabled {
			if s.State == nil {
				s.State = &client.ScheduleState{}
			}
			s.State.Paused, s.State.Note = !d.Enabled, note(d.Enabled)
		}
	})
}

// reshape brings schedule id to spec and action under runhook's policies;
// edit, when set, changes the rest.
func (m Manager) reshape(ctx context.Context, id string, spec *client.ScheduleSpec, action *client.ScheduleWorkflowAction, edit func(*client.Schedule)) error {
	h := m.Client.ScheduleClient().GetHandle(ctx, id)
	err := h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		s := in.Description.Schedule
		s.Spec, s.Action = spec, action
		if s.Policy == nil {
			s.Policy = &client.SchedulePolicies{}
		}
		s.Policy.Overlap = Overlap
		s.Policy.CatchupWindow = time.Minute
		if edit != nil {
			edit(&s)
		}
		return &client.ScheduleUpdate{Schedule: &s}, nil
	}})
	if err != nil {
		return fmt.Errorf("update schedule %s: %w", id, err)
	}
	return nil
}

// Get describes a rule's schedule; Exists is false when there is none.
func (m Manager) Get(ctx context.Context, rule uuid.UUID) (State, error) {
	desc, err := m.Client.ScheduleClient().GetHandle(ctx, ID(rule)).Describe(ctx)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return State{}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("describe schedule %s: %w", ID(rule), err)
	}
	st := State{Exists: true, Next: desc.Info.NextActionTimes}
	for _, a := range desc.Info.RecentActions {
		st.Recent = append(st.Recent, a.ScheduleTime)
		if a.StartWorkflowResult != nil {
			st.Ticks = append(st.Ticks, *a.StartWorkflowResult)
		}
	}
	if s := desc.Schedule.Spec; s != nil && len(s.Intervals) == 1 {
		st.Interval, st.Offset = s.Intervals[0].Every, s.Intervals[0].Offset
	}
	if s := desc.Schedule.State; s != nil {
		st.Paused, st.Note = s.Paused, s.Note
	}
	if a, ok := desc.Schedule.Action.(*client.ScheduleWorkflowAction); ok {
		st.TaskQueue = a.TaskQueue
	}
	return st, nil
}

// Delete removes a rule's schedule; a missing one is not an error.
func (m Manager) Delete(ctx context.Context, rule uuid.UUID) error {
	return m.delete(ctx, ID(rule))
}

func (m Manager) delete(ctx context.Context, id string) error {
	err := m.Client.ScheduleClient().GetHandle(ctx, id).Delete(ctx)
	var notFound *serviceerror.NotFound
	if err != nil && !errors.As(err, &notFound) {
		return fmt.Errorf("delete schedule %s: %w", id, err)
	}
	return nil
}

// Pause stops a rule's ticks. It implements activities.Schedules, so a rule
// that pauses itself for failing also stops ticking.
func (m Manager) Pause(ctx context.Context, rule uuid.UUID, why string) error {
	if err := m.Client.ScheduleClient().GetHandle(ctx, ID(rule)).Pause(ctx, client.SchedulePauseOptions{Note: why}); err != nil {
		return fmt.Errorf("pause schedule %s: %w", ID(rule), err)
	}
	return nil
}

// Unpause restarts a rule's ticks.
func (m Manager) Unpause(ctx context.Context, rule uuid.UUID, why string) error {
	if err := m.Client.ScheduleClient().GetHandle(ctx, ID(rule)).Unpause(ctx, client.ScheduleUnpauseOptions{Note: why}); err != nil {
		return fmt.Errorf("resume schedule %s: %w", ID(rule), err)
	}
	return nil
}

// Trigger starts a tick now. Buffer-one: if a tick is running, this one
// starts when it ends, so a rule still never has two at once.
func (m Manager) Trigger(ctx context.Context, rule uuid.UUID) error {
	err := m.Client.ScheduleClient().GetHandle(ctx, ID(rule)).Trigger(ctx, client.ScheduleTriggerOptions{
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE,
	})
	if err != nil {
		return fmt.Errorf("trigger schedule %s: %w", ID(rule), err)
	}
	return nil
}
