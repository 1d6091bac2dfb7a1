package activities

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/runhook/runhook/internal/delivery"
)

// A failed Deliver's error carries the attempt's class as its type (so the
// retry policy's NonRetryableErrorTypes applies), the redacted reason as its
// message, and the recorded outcome as its details when the attempt recorded
// it. failure writes that error and Failure and RecordedOutcome read it, in
// one place, so the workflows read what the activity wrote.

// failure is the activity error for a failed attempt; recorded is the
// outcome, when the attempt recorded it.
func failure(res delivery.Result, recorded *OutcomeResult) error {
	msg := string(res.Class)
	if res.Err != "" {
		msg += ": " + res.Err
	}
	opts := temporal.ApplicationErrorOptions{NonRetryable: !res.Class.Retryable()}
	if recorded != nil {
		opts.Details = []any{*recorded}
	}
	return temporal.NewApplicationErrorWithOptions(msg, string(res.Class), opts)
}

// StandardAnswer is what a failed attempt of a `retry: standard` webhook
// tells its workflow.
type StandardAnswer struct {
	// Retry: the schedule goes on after this attempt.
	Retry bool
	// RetryAfter is the receiver's Retry-After (429 and 503); 0 when none.
	RetryAfter time.Duration `json:",omitempty"`
	// Gone: the receiver answered 410 and the webhook is now paused.
	Gone bool `json:",omitempty"`
}

// standardFailure is final for Temporal whatever the class: the workflow
// reads the answer and sleeps on a timer before the next attempt.
func standardFailure(res delivery.Result, answer StandardAnswer) error {
	msg := string(res.Class)
	if res.Err != "" {
		msg += ": " + res.Err
	}
	return temporal.NewApplicationErrorWithOptions(msg, string(res.Class),
		temporal.ApplicationErrorOptions{NonRetryable: true, Details: []any{answer}})
}

// Answer reads the StandardAnswer of a failed `retry: standard` attempt.
// An error that carries none (storage trouble that outlasted the activity's
// own retries, an attempt that timed out in Temporal) may go on.
func Answer(err error) StandardAnswer {
	var appErr *temporal.ApplicationError
	var answer StandardAnswer
	if errors.As(err, &appErr) && appErr.HasDetails() && appErr.Details(&answer) == nil {
		return answer
	}
	return StandardAnswer{Retry: true}
}

// Failure reads the class and the (already redacted) reason of the last
// attempt of a Deliver that failed.
func Failure(err error) (class, reason string) {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Type(), appErr.Error()
	}
	var timeoutErr *temporal.TimeoutError
	if errors.As(err, &timeoutErr) {
		return string(delivery.Timeout), "activity timed out"
	}
	return "error", err.Error()
}

// RecordedOutcome is the outcome the last attempt of a failed Deliver
// recorded itself; false when it did not, and the caller records it.
func RecordedOutcome(err error) (OutcomeResult, bool) {
	var appErr *temporal.ApplicationError
	var recorded OutcomeResult
	if errors.As(err, &appErr) && appErr.HasDetails() && appErr.Details(&recorded) == nil && recorded.Recorded {
		return recorded, true
	}
	return OutcomeResult{}, false
}
