package delivery

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Retry modes a webhook may set (`retry:` in the rules file). The zero value
// is LangSmith's rules, carried out by the Temporal retry policy.
const (
	RetryLangSmith = ""
	// RetryStandard retries on the Standard Webhooks schedule, on Temporal
	// timers, honouring Retry-After; a 410 pauses the webhook.
	RetryStandard = "standard"
)

// StandardSchedule is the Standard Webhooks schedule: the delays between
// attempts after the first, which is made at once. Ten attempts in all,
// over about three days.
var StandardSchedule = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
	10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour,
}

// MaxRetryAfter caps a receiver's Retry-After: the schedule's longest step.
const MaxRetryAfter = 24 * time.Hour

// StandardRetryable says whether `retry: standard` tries again after an
// attempt: on connect failures, 5xx, timeouts (receivers deduplicate on
// webhook-id) and 429. Other 4xx, redirects and refusals are final, and a
// 410 also pauses the webhook.
func StandardRetryable(res Result) bool {
	switch res.Class {
	case ConnectError, ServerError, Timeout:
		return true
	case ClientError:
		return res.StatusCode == http.StatusTooManyRequests
	}
	return false
}

// Gone is a receiver saying, with 410, that the endpoint is gone for good.
func Gone(statusCode int) bool { return statusCode == http.StatusGone }

// ParseRetryAfter reads a Retry-After header, delay-seconds or HTTP-date
// (RFC 9110), as a wait from now, capped at MaxRetryAfter; 0 when absent,
// malformed or already past.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		d = time.Duration(secs) * time.Second
	} else if at, err := http.ParseTime(v); err == nil {
		d = at.Sub(now)
	}
	return min(max(d, 0), MaxRetryAfter)
}
