package activities

import (
	"errors"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/runhook/runhook/internal/delivery"
)

func TestFailureReadsWhatTheAttemptWrote(t *testing.T) {
	for _, tc := range []struct {
		res          delivery.Result
		reason       string
		nonRetryable bool
	}{
		{delivery.Result{Class: delivery.ServerError, Err: "HTTP 503"}, "server_error: HTTP 503", false},
		{delivery.Result{Class: delivery.Refused}, "refused", true},
	} {
		err := failure(tc.res, nil)
		class, reason := Failure(err)
		// The SDK's message appends the type and retryability.
		if class != string(tc.res.Class) || !strings.HasPrefix(reason, tc.reason+" (type: ") {
			t.Errorf("%v: read %q, %q", tc.res, class, reason)
		}
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || appErr.NonRetryable() != tc.nonRetryable {
			t.Errorf("%v: non-retryable %v, want %v", tc.res, appErr.NonRetryable(), tc.nonRetryable)
		}
		if _, ok := RecordedOutcome(err); ok {
			t.Errorf("%v: recorded without an outcome", tc.res)
		}
	}
}

func TestRecordedOutcomeTravelsInTheDetails(t *testing.T) {
	err := failure(delivery.Result{Class: delivery.ClientError, Err: "HTTP 404"}, &OutcomeResult{Paused: true, ConsecutiveFailures: 3, Recorded: true})
	got, ok := RecordedOutcome(err)
	if !ok || !got.Paused || got.ConsecutiveFailures != 3 {
		t.Fatalf("recorded %+v, %v", got, ok)
	}
}

func TestFailureOfATimeoutOrOtherError(t *testing.T) {
	if class, reason := Failure(temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_START_TO_CLOSE, nil)); class != string(delivery.Timeout) || reason != "activity timed out" {
		t.Errorf("timeout read as %q, %q", class, reason)
	}
	if class, reason := Failure(errors.New("boom")); class != "error" || reason != "boom" {
		t.Errorf("other error read as %q, %q", class, reason)
	}
}
