// Package rulelog holds the words of a rule's log: the events that happen to
// a run for a rule before delivery, the outcomes of delivering it, and the
// rule id under which run-completion webhooks are logged. They are stored
// values (rule_events.event, delivery_outcomes.outcome) and workflow inputs,
// so they live apart from the storage driver: workflows name them without
// importing it.
package rulelog

import "github.com/google/uuid"

// Events of a run for a rule before delivery (rule_events.event).
const (
	Matched  = "matched"
	Waiting  = "waiting"
	TimedOut = "timed_out"
)

// Test is the event of a test delivery to one webhook (`starter rules
// test`, rule_events.event): its run is the example run the test sent,
// never a stored one, and it is no outcome, so it counts in no streak.
const Test = "test"

// Outcomes of delivering a run to one webhook (delivery_outcomes.outcome).
// The failure streak that pauses a rule counts them, so storage accepts no
// others.
const (
	Delivered = "delivered"
	Failed    = "failed"
	Skipped   = "skipped"
)

// RunWebhookRuleID is the rule_id under which run-completion webhooks are
// recorded in delivery_attempts and delivery_outcomes: no rule has the nil
// UUID (rules refuse it), so rule-only logic never sees these rows. A func,
// as a UUID is an array and cannot be a constant: nothing can reassign it.
func RunWebhookRuleID() uuid.UUID { return uuid.Nil }
