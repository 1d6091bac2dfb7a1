package workflows_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/runhook/runhook/activities"
	"github.com/runhook/runhook/workflows"
)

func TestRetentionAppliesAtTheWorkflowsTime(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(t0)
	var a *activities.Activities
	var got []activities.RetentionInput
	want := activities.RetentionResult{Tables: 2, Partitions: 5}
	env.OnActivity(a.ApplyRetention, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RetentionInput) (activities.RetentionResult, error) {
			got = append(got, in)
			return want, nil
		})

	env.ExecuteWorkflow(workflows.Retention, workflows.RetentionInput{Requester: "test"})

	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res activities.RetentionResult
	if err := env.GetWorkflowResult(&res); err != nil || res != want {
		t.Errorf("result %+v (%v), want %+v", res, err, want)
	}
	if len(got) != 1 || !got[0].Now.Equal(t0) {
		t.Errorf("ApplyRetention got %+v, want one call at the workflow's time %s", got, t0)
	}
}

func TestRetentionRetriesThenFails(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	calls := 0
	env.OnActivity(a.ApplyRetention, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.RetentionInput) (activities.RetentionResult, error) {
			calls++
			return activities.RetentionResult{}, errors.New("clickhouse down")
		})

	env.ExecuteWorkflow(workflows.Retention, workflows.RetentionInput{})

	if env.GetWorkflowError() == nil {
		t.Fatal("want an error when ClickHouse stays down")
	}
	if calls != 3 {
		t.Errorf("ApplyRetention ran %d times, want 3 (the retry policy's maximum)", calls)
	}
}
