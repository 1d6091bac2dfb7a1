package schedules

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/runhook/runhook/workflows"
)

// RetentionEvery is how often the retention schedule runs. Partitions are
// days, so hourly drops a day within an hour of its becoming droppable.
const RetentionEvery = time.Hour

// RetentionID is the schedule that applies retention for the workers of a
// task queue: runhook-retention for the default queue. It is named after the
// queue, since each queue's workers have a database of their own, and
// deployments (or tests) sharing a namespace would otherwise take one
// schedule from each other.
func RetentionID(taskQueue string) string { return taskQueue + "-retention" }

func (m Manager) retentionAction() *client.ScheduleWorkflowAction {
	return &client.ScheduleWorkflowAction{
		// Temporal appends the nominal time: runhook-retention-<time>.
		ID:                       RetentionID(m.TaskQueue),
		Workflow:                 workflows.Retention,
		Args:                     []any{workflows.RetentionInput{Requester: "schedule " + RetentionID(m.TaskQueue)}},
		TaskQueue:                m.TaskQueue,
		WorkflowExecutionTimeout: 30 * time.Minute,
	}
}

func retentionSpec() client.ScheduleSpec {
	return client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: RetentionEvery}}}
}

// EnsureRetention creates the retention schedule, or brings an existing one
// to the current shape, and says which it did: "created", "updated" or
// "unchanged". A pause an operator put on it is kept.
func (m Manager) EnsureRetention(ctx context.Context) (string, error) {
	id := RetentionID(m.TaskQueue)
	h := m.Client.ScheduleClient().GetHandle(ctx, id)
	desc, err := h.Describe(ctx)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		_, err := m.Client.ScheduleClient().Create(ctx, client.ScheduleOptions{
			ID:      id,
			Spec:    retentionSpec(),
			Action:  m.retentionAction(),
			Overlap: Overlap,
			// A run missed while Temporal was down is made up by the next one.
			CatchupWindow: time.Minute,
			Note:          "created by starter rules apply",
		})
		if err == nil {
			return "created", nil
		}
		// Another starter created it meanwhile: bring that one up to date.
		if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
			return "", fmt.Errorf("create schedule %s: %w", id, err)
		}
		if desc, err = h.Describe(ctx); err != nil {
			return "", fmt.Errorf("describe schedule %s: %w", id, err)
		}
	} else if err != nil {
		return "", fmt.Errorf("describe schedule %s: %w", id, err)
	}
	if retentionCurrent(desc, m.TaskQueue) {
		return "unchanged", nil
	}
	spec := retentionSpec()
	if err := m.reshape(ctx, id, &spec, m.retentionAction(), nil); err != nil {
		return "", err
	}
	return "updated", nil
}

// retentionCurrent reports whether a described schedule already runs
// Retention hourly on the queue.
func retentionCurrent(desc *client.ScheduleDescription, queue string) bool {
	s := desc.Schedule
	if s.Spec == nil || len(s.Spec.Intervals) != 1 || s.Spec.Intervals[0].Every != RetentionEvery || s.Spec.Intervals[0].Offset != 0 ||
		len(s.Spec.Calendars) != 0 || len(s.Spec.CronExpressions) != 0 {
		return false
	}
	a, ok := s.Action.(*client.ScheduleWorkflowAction)
	if !ok || a.TaskQueue != queue || a.ID != RetentionID(queue) {
		return false
	}
	name, _ := a.Workflow.(string)
	return name == "Retention"
}

// DeleteRetention removes the retention schedule; a missing one is not an error.
func (m Manager) DeleteRetention(ctx context.Context) error {
	return m.delete(ctx, RetentionID(m.TaskQueue))
}
