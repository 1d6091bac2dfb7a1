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

func TestPingReportsStorage(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	want := activities.StorageStatus{ServerVersion: "18.16.1", Database: "runhook", Runs: 7, Worker: "w/1"}
	env.OnActivity(a.CheckStorage, mock.Anything).Return(want, nil)

	env.ExecuteWorkflow(workflows.Ping, workflows.PingInput{Requester: "test"})

	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var got workflows.PingResult
	if err := env.GetWorkflowResult(&got); err != nil {
		t.Fatal(err)
	}
	if got.Storage != want {
		t.Errorf("result = %+v, want %+v", got.Storage, want)
	}
}

func TestPingRetriesStorageThenFails(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	calls := 0
	env.OnActivity(a.CheckStorage, mock.Anything).Return(func(context.Context) (activities.StorageStatus, error) {
		calls++
		return activities.StorageStatus{}, errors.New("clickhouse down")
	})

	env.ExecuteWorkflow(workflows.Ping, workflows.PingInput{})

	if env.GetWorkflowError() == nil {
		t.Fatal("want an error when storage stays down")
	}
	if calls != 3 {
		t.Errorf("CheckStorage ran %d times, want 3 (the retry policy's maximum)", calls)
	}
}
