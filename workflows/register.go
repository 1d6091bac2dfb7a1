package workflows

import "go.temporal.io/sdk/worker"

// Register puts every runhook workflow and the activities on a worker (or a
// replayer), so the worker binary, tests and benches register the same set.
func Register(r worker.Registry, acts any) {
	r.RegisterWorkflow(Ping)
	r.RegisterWorkflow(Delivery)
	r.RegisterWorkflow(DeliverRuns)
	r.RegisterWorkflow(RuleTick)
	r.RegisterWorkflow(FeedbackWait)
	if acts != nil {
		r.RegisterActivity(acts)
	}
}
