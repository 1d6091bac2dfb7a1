package ruleops

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/payload"
	"github.com/runhook/runhook/internal/rulelog"
	"github.com/runhook/runhook/internal/rules"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/secrets"
)

// WebhookReader reads a rule's stored webhooks, sealed.
type WebhookReader interface {
	Webhooks(ctx context.Context, ruleID uuid.UUID) ([]clickhouse.Webhook, error)
}

// TestRecorder records a test delivery: its attempt beside the rule's real
// attempts, and an event in the rule's log. Neither is an outcome, so the
// rule's failure streak, claims and redeliveries never see a test.
type TestRecorder interface {
	RecordAttempt(ctx context.Context, a clickhouse.Attempt) error
	RecordEvents(ctx context.Context, events []clickhouse.Event) error
}

// TestStore is what a test delivery reads and writes.
type TestStore interface {
	WebhookReader
	TestRecorder
}

// Poster makes one POST through the SSRF guard; *delivery.Sender, which
// every delivery sends with, is one.
type Poster interface {
	Send(ctx context.Context, r delivery.Request) delivery.Result
}

// TestHeader marks a test delivery, so a receiver can tell it from a real one.
const TestHeader = "webhook-test"

// Tester sends a rule's test deliveries as its real deliveries are sent:
// the stored webhook opened, checked against the URL policy, and posted by
// the sender with its custom headers, secret query and signature.
type Tester struct {
	Store   TestStore
	Secrets *secrets.Box
	Policy  delivery.URLPolicy
	Sender  Poster
}

// TestResult is what one webhook's test delivery came to.
type TestResult struct {
	Webhook uint16
	// URL is redacted.
	URL string
	// MessageID is the POST's webhook-id.
	MessageID string
	delivery.Result
}

// Sent says whether the receiver accepted the test.
func (r TestResult) Sent() bool { return r.Class == delivery.Delivered }

// Took is the attempt's duration, rounded for reading.
func (r TestResult) Took() time.Duration { return r.Duration.Round(100 * time.Microsecond) }

// Summary is the result in a few words, secrets redacted: "delivered, HTTP
// 204 in 1.2ms", or the class and the redacted error.
func (r TestResult) Summary() string {
	if r.Sent() {
		return fmt.Sprintf("delivered, HTTP %d in %s", r.StatusCode, r.Took())
	}
	return fmt.Sprintf("%s: %s, in %s", r.Class, r.Err, r.Took())
}

// Send posts one test delivery to each webhook of the rule: LangSmith's
// payload with the rule's id and one example run (for a webhook of format
// langgraph, that run in LangGraph's Run shape, as its deliveries are), with
// the header webhook-test: true. Each is recorded as an
// attempt and as a rulelog.Test event of the example run, which `starter
// rules logs` shows; nothing else of the rule changes. It returns the
// example run's id and a result per webhook.
func (t Tester) Send(ctx context.Context, spec rules.Spec, now time.Time) (uuid.UUID, []TestResult, error) {
	hooks, err := t.Store.Webhooks(ctx, spec.ID)
	if err != nil {
		return uuid.Nil, nil, err
	}
	run, err := exampleRun(spec.Project, now)
	if err != nil {
		return uuid.Nil, nil, err
	}
	bodies := map[payload.Format][]byte{}
	for format, v := range map[payload.Format]any{
		payload.FormatLangSmith: payload.Payload{RuleID: spec.ID, StartTime: now, EndTime: now, Runs: []runs.Run{run}},
		payload.FormatLangGraph: payload.ToLangGraph(run, now),
	} {
		if bodies[format], err = runs.MarshalJSON(v); err != nil {
			return uuid.Nil, nil, fmt.Errorf("encode test payload: %w", err)
		}
	}
	var out []TestResult
	for _, w := range hooks {
		res := TestResult{Webhook: w.Index, URL: w.URLRedacted,
			MessageID: fmt.Sprintf("rule-%s/test-%s/w%d", spec.ID, now.UTC().Format("20060102T150405.000Z"), w.Index)}
		started := time.Now()
		res.Result = t.post(ctx, w, res.MessageID, bodies)
		if res.Duration == 0 { // not sent: how long the refusal took
			res.Duration = time.Since(started)
		}
		out = append(out, res)
		if err := t.record(ctx, spec.ID, run.ID, res, started); err != nil {
			return run.ID, out, err
		}
	}
	return run.ID, out, nil
}

// post opens, checks and sends as the Deliver activity does; a webhook that
// does not open or is refused is not sent to.
func (t Tester) post(ctx context.Context, w clickhouse.Webhook, messageID string, bodies map[payload.Format][]byte) delivery.Result {
	target, err := delivery.Open(t.Secrets, w)
	if err != nil {
		return delivery.Result{Class: delivery.Invalid, Err: err.Error()}
	}
	keys, refused := target.Check(t.Policy)
	if refused != nil {
		return *refused
	}
	headers := maps.Clone(target.Headers)
	if headers == nil {
		headers = map[string]string{}
	}
	headers[TestHeader] = "true"
	body := bodies[payload.FormatLangSmith]
	if target.Format == payload.FormatLangGraph {
		body = bodies[payload.FormatLangGraph]
	}
	return t.Sender.Send(ctx, delivery.Request{URL: target.URL, Headers: headers, Body: body, MessageID: messageID, SigningKeys: keys})
}

func (t Tester) record(ctx context.Context, rule, run uuid.UUID, res TestResult, started time.Time) error {
	err := t.Store.RecordAttempt(ctx, clickhouse.Attempt{
		DeliveryID: res.MessageID, RuleID: rule, WebhookIndex: res.Webhook, URLRedacted: res.URL,
		Attempt: 1, StartedAt: started, Duration: res.Duration, Class: string(res.Class),
		StatusCode: uint16(res.StatusCode), Error: res.Err,
	})
	if err != nil {
		return err
	}
	return t.Store.RecordEvents(ctx, []clickhouse.Event{{RuleID: rule, RunID: run, Event: rulelog.Test,
		Reason: fmt.Sprintf("webhook %d (%s): %s", res.Webhook, res.URL, res.Summary()), At: time.Now(), WorkflowID: res.MessageID}})
}

// exampleRun is the run a test delivery carries: a finished root run of the
// rule's project, in LangSmith's shape, decoded as ingested runs are. It is
// never stored.
func exampleRun(project uuid.UUID, now time.Time) (runs.Run, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return runs.Run{}, err
	}
	start := now.UTC().Add(-1500 * time.Millisecond)
	raw, _ := json.Marshal(map[string]any{
		"id": id, "name": "runhook test delivery", "run_type": "chain", "session_id": project,
		"start_time": runs.FormatRunTime(start), "end_time": runs.FormatRunTime(now.UTC()),
		"inputs":  map[string]any{"question": "Does this webhook receive runhook's deliveries?"},
		"outputs": map[string]any{"answer": "Yes: this is a test delivery from `starter rules test`."},
		"tags":    []string{"runhook-test"},
		"extra":   map[string]any{"metadata": map[string]any{"runhook_test": true}},
	})
	return runs.DecodeRun(raw, now)
}
