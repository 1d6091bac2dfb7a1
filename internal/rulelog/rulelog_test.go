package rulelog

import (
	"testing"

	"github.com/google/uuid"
)

// The words are stored and replayed in workflow histories: they never change.
func TestWordsAreStable(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{Matched, "matched"}, {Waiting, "waiting"}, {TimedOut, "timed_out"}, {Test, "test"},
		{Delivered, "delivered"}, {Failed, "failed"}, {Skipped, "skipped"},
	} {
		if c.got != c.want {
			t.Errorf("%q, want %q", c.got, c.want)
		}
	}
	if RunWebhookRuleID() != uuid.Nil {
		t.Errorf("RunWebhookRuleID() = %s, want the nil UUID", RunWebhookRuleID())
	}
}
