package activities

import (
	"errors"

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
