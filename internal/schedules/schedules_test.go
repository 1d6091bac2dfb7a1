package schedules_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/schedules"
	"github.com/runhook/runhook/internal/testenv"
)

func TestScheduleLifecycle(t *testing.T) {
	c, queue := testenv.Temporal(t)
	ctx := context.Background()
	m := schedules.Manager{Client: c, TaskQueue: queue}
	rule := uuid.New()
	t.Cleanup(func() { _ = m.Delete(context.Background(), rule) })

	if st, err := m.Get(ctx, rule); err != nil || st.Exists {
		t.Fatalf("before create: %+v, %v", st, err)
	}
	d := schedules.Desired{RuleID: rule, Name: "r", Interval: time.Hour, Enabled: false}
	if err := m.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	st, err := m.Get(ctx, rule)
	if err != nil || !st.Exists || !st.Paused || st.Interval != time.Hour || st.Offset != schedules.Offset(rule, time.Hour) || st.TaskQueue != queue {
		t.Fatalf("a disabled rule's new schedule: %+v, %v", st, err)
	}

	d.Interval, d.Enabled = 30*time.Minute, true
	if err := m.Update(ctx, d, true); err != nil {
		t.Fatal(err)
	}
	if st, _ = m.Get(ctx, rule); st.Paused || st.Interval != 30*time.Minute {
		t.Fatalf("after enabling and a new interval: %+v", st)
	}

	if err := m.Pause(ctx, rule, "operator"); err != nil {
		t.Fatal(err)
	}
	// An update that does not change enabled keeps the operator's pause.
	if err := m.Update(ctx, d, false); err != nil {
		t.Fatal(err)
	}
	if st, _ = m.Get(ctx, rule); !st.Paused || st.Note != "operator" {
		t.Fatalf("update lost the pause: %+v", st)
	}
	if err := m.Unpause(ctx, rule, "back"); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(ctx, rule); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(ctx, rule); err != nil {
		t.Fatalf("deleting a missing schedule: %v", err)
	}
	if st, _ = m.Get(ctx, rule); st.Exists {
		t.Fatal("deleted schedule still described")
	}
	if off := schedules.Offset(rule, time.Minute); off < 0 || off >= time.Minute || off != schedules.Offset(rule, time.Minute) {
		t.Fatalf("offset %s is not a stable point of the interval", off)
	}
	if schedules.ID(rule) != "rule-"+rule.String() {
		t.Fatalf("schedule ID %q", schedules.ID(rule))
	}
}

func TestOffsetSpreadsRulesOverTheInterval(t *testing.T) {
	seen := map[time.Duration]int{}
	for i := 0; i < 1000; i++ {
		seen[schedules.Offset(uuid.New(), time.Minute)]++
	}
	// 1,000 rules over 60 seconds: every second used, none with a crowd.
	if len(seen) != 60 {
		t.Fatalf("offsets use %d of 60 seconds", len(seen))
	}
	for off, n := range seen {
		if n > 50 {
			t.Errorf("%d rules tick at +%s", n, off)
		}
	}
	if schedules.Offset(uuid.New(), time.Second) != 0 {
		t.Error("a 1s interval has no room for an offset")
	}
}
