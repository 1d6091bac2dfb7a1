package workflows

import "go.temporal.io/sdk/worker"

// Register puts every runhook workflow on a worker or a replayer, so the
// worker binary, tests, benches and the replay test use the same set.
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflow(Ping)
	r.RegisterWorkflow(Delivery)
	r.RegisterWorkflow(DeliverRuns)
	r.RegisterWorkflow(RuleTick)
	r.RegisterWorkflow(FeedbackWait)
	r.RegisterWorkflow(RunWebhook)
	r.RegisterWorkflow(RunWebhooks)
	r.RegisterWorkflow(Retention)
	r.RegisterWorkflow(Alert)
}
