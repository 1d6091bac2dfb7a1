package activities

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Storage trouble is retried inside an attempt until the budget runs out,
// then reported; success ends the retries at once.
func TestRetryStorage(t *testing.T) {
	ctx := context.Background()
	calls := 0
	err := retryStorage(ctx, time.Now().Add(time.Minute), func() error {
		if calls++; calls < 3 {
			return errors.New("connection refused")
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("err %v after %d calls, want success on the third", err, calls)
	}

	calls = 0
	err = retryStorage(ctx, time.Now().Add(600*time.Millisecond), func() error { calls++; return errors.New("down") })
	if err == nil || calls < 2 || calls > 3 {
		t.Fatalf("err %v after %d calls, want the error after 2 or 3 (250 ms, then 500 ms)", err, calls)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	calls = 0
	if err := retryStorage(cancelled, time.Now().Add(time.Minute), func() error { calls++; return errors.New("down") }); err == nil || calls != 1 {
		t.Fatalf("cancelled: err %v after %d calls, want one call", err, calls)
	}
}
