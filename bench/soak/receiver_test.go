package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/signing"
)

func postRun(t *testing.T, url string, run uuid.UUID, msg string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"id":"`+run.String()+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(signing.HeaderID, msg)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	return resp, err
}

func TestReceiverCountsARunUnderTwoWebhookIDs(t *testing.T) {
	rc := newReceiver(map[behaviour]int{answerOK: 1}, time.Second, 1)
	defer rc.Close()
	once, twice := uuid.New(), uuid.New()
	for _, p := range []struct {
		run uuid.UUID
		msg string
	}{{once, "msg_a"}, {once, "msg_a"}, {twice, "msg_b"}, {twice, "msg_c"}} {
		if resp, err := postRun(t, rc.URL(), p.run, p.msg); err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("post: %v %v", resp, err)
		}
	}
	// A retry under the same id is not a second delivery; a second id is.
	if n, ex := rc.duplicates(); n != 1 || ex != twice {
		t.Errorf("duplicates = %d (%s), want 1 (%s)", n, ex, twice)
	}
	if got := len(rc.arrivals()); got != 2 {
		t.Errorf("arrivals = %d runs, want 2", got)
	}
}

func TestReceiverFaults(t *testing.T) {
	for name, b := range map[string]behaviour{"5xx": answer5xx, "reset": answerReset} {
		rc := newReceiver(map[behaviour]int{b: 1}, time.Second, 1)
		resp, err := postRun(t, rc.URL(), uuid.New(), "msg_x")
		switch b {
		case answer5xx:
			if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("%s: %v %v", name, resp, err)
			}
		case answerReset:
			if err == nil {
				t.Errorf("%s: answered %s", name, resp.Status)
			}
		}
		if len(rc.arrivals()) != 0 {
			t.Errorf("%s: a refused POST counted as arrived", name)
		}
		rc.Close()
	}
}
