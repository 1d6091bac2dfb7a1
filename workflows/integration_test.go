package workflows_test

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/runhook/runhook/activities"
	"github.com/runhook/runhook/internal/testenv"
	"github.com/runhook/runhook/workflows"
)

// Ping through the real Temporal server and a real worker reaching the real
// ClickHouse: the path every later workflow takes.
func TestPingOnRealServices(t *testing.T) {
	store := testenv.ClickHouse(t)
	c, queue := testenv.Temporal(t)

	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflow(workflows.Ping)
	w.RegisterActivity(&activities.Activities{Store: store})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "ping-" + queue, TaskQueue: queue},
		workflows.Ping, workflows.PingInput{Requester: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.PingResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Storage.ServerVersion == "" || res.Storage.Database != store.Database() || res.Storage.Runs != 0 {
		t.Errorf("result = %+v", res.Storage)
	}
}
