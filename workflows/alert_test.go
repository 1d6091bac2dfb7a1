package workflows_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/runhook/runhook/activities"
	"github.com/runhook/runhook/internal/alerts"
	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/workflows"
)

// alert runs the Alert workflow with SendAlert answering from script (one
// entry per attempt; the last repeats) and returns the event of each
// attempt and the workflow's error.
func alert(t *testing.T, script ...error) ([]alerts.Event, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	var sent []alerts.Event
	env.OnActivity(a.SendAlert, mock.Anything, mock.Anything).Return(func(_ context.Context, ev alerts.Event) error {
		err := script[min(len(sent), len(script)-1)]
		sent = append(sent, ev)
		return err
	})
	ev := alerts.RulePausedEvent(uuid.New(), "d1", 3, "server_error: 503", time.Now())
	env.ExecuteWorkflow(workflows.Alert, workflows.AlertInput{Event: ev, Retry: workflows.RetrySettings{InitialInterval: time.Millisecond}})
	if !env.IsWorkflowCompleted() {
		t.Fatal("Alert did not complete")
	}
	for _, got := range sent {
		if got.ID != ev.ID {
			t.Errorf("attempt with event %s, want %s", got.ID, ev.ID)
		}
	}
	return sent, env.GetWorkflowError()
}

func TestAlertRetriesAsADelivery(t *testing.T) {
	if sent, err := alert(t, attemptErr(delivery.ServerError), nil); err != nil || len(sent) != 2 {
		t.Errorf("5xx then delivered: %v after %d attempts", err, len(sent))
	}
	if sent, err := alert(t, attemptErr(delivery.ServerError)); err == nil || len(sent) != workflows.MaxAttempts {
		t.Errorf("5xx throughout: %v after %d attempts, want %d", err, len(sent), workflows.MaxAttempts)
	}
	if sent, err := alert(t, attemptErr(delivery.ClientError)); err == nil || len(sent) != 1 {
		t.Errorf("4xx: %v after %d attempts, want 1", err, len(sent))
	}
}

func TestAlertID(t *testing.T) {
	if got := workflows.AlertID("rule.paused_00ff"); got != "alert/rule.paused_00ff" {
		t.Errorf("AlertID = %s", got)
	}
}
