package schedules_test

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/runhook/runhook/internal/schedules"
	"github.com/runhook/runhook/internal/testenv"
)

func TestRetentionScheduleIsKeptInShape(t *testing.T) {
	c, queue := testenv.Temporal(t)
	ctx := context.Background()
	m := schedules.Manager{Client: c, TaskQueue: queue}
	t.Cleanup(func() { _ = m.DeleteRetention(context.Background()) })
	if schedules.RetentionID("runhook") != "runhook-retention" {
		t.Errorf("the default queue's schedule is %q", schedules.RetentionID("runhook"))
	}
	id := schedules.RetentionID(queue)

	for _, want := range []string{"created", "unchanged"} {
		if got, err := m.EnsureRetention(ctx); err != nil || got != want {
			t.Fatalf("EnsureRetention = %q, %v; want %q", got, err, want)
		}
	}
	h := c.ScheduleClient().GetHandle(ctx, id)
	desc, err := h.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, ok := desc.Schedule.Action.(*client.ScheduleWorkflowAction)
	if !ok || a.Workflow != "Retention" || a.TaskQueue != queue {
		t.Fatalf("action %+v", desc.Schedule.Action)
	}
	if iv := desc.Schedule.Spec.Intervals; len(iv) != 1 || iv[0].Every != time.Hour {
		t.Fatalf("spec %+v, want hourly", desc.Schedule.Spec)
	}

	// An operator's pause survives, and a schedule changed by hand is put back.
	if err := h.Pause(ctx, client.SchedulePauseOptions{Note: "operator"}); err != nil {
		t.Fatal(err)
	}
	err = h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		s := in.Description.Schedule
		s.Spec = &client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: 24 * time.Hour}}}
		return &client.ScheduleUpdate{Schedule: &s}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := m.EnsureRetention(ctx); err != nil || got != "updated" {
		t.Fatalf("after a change by hand: %q, %v; want updated", got, err)
	}
	if desc, err = h.Describe(ctx); err != nil {
		t.Fatal(err)
	}
	if iv := desc.Schedule.Spec.Intervals; len(iv) != 1 || iv[0].Every != time.Hour || !desc.Schedule.State.Paused || desc.Schedule.State.Note != "operator" {
		t.Fatalf("after update: spec %+v, state %+v", desc.Schedule.Spec, desc.Schedule.State)
	}

	if err := m.DeleteRetention(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.DeleteRetention(ctx); err != nil {
		t.Fatalf("deleting a missing schedule: %v", err)
	}
}
