package rules

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strings"
	"time"
)

// fingerprintVersion starts the canonical encoding, so a future change of
// the encoding changes every fingerprint rather than colliding with old ones.
const fingerprintVersion = "runhook-rule-v1\n"

// canonical is the whole rule, secrets included, with every field in a
// fixed order and no maps: headers become a list sorted by name.
type canonical struct {
	ID                 string          `json:"id"`
	Name               string          `json:"name"`
	Project            string          `json:"project"`
	Filter             string          `json:"filter"`
	TraceFilter        string          `json:"trace_filter"`
	SamplingRate       float64         `json:"sampling_rate"`
	IntervalNanos      int64           `json:"interval_ns"`
	Enabled            bool            `json:"enabled"`
	BackfillFrom       string          `json:"backfill_from"`
	FeedbackRequire    []string        `json:"feedback_require"`
	FeedbackWaitNanos  int64           `json:"feedback_wait_ns"`
	FeedbackOnTimeout  string          `json:"feedback_on_timeout"`
	MaxRunsPerDelivery int             `json:"max_runs_per_delivery"`
	Webhooks           []canonicalHook `json:"webhooks"`
}

type canonicalHook struct {
	URL           string      `json:"url"`
	Headers       [][2]string `json:"headers"`
	SigningSecret string      `json:"signing_secret"`
	// Format is left out when it is LangSmith's, so rules without one keep
	// their fingerprints.
	Format string `json:"format,omitempty"`
	// Retry is left out when it is LangSmith's, for the same reason.
	Retry string `json:"retry,omitempty"`
}

// Fingerprint is a keyed hash (HMAC-SHA256, hex) of the whole rule, webhook
// URLs, headers and signing secrets included: `rules apply` compares it with
// the stored one to tell an unchanged rule without storing or comparing
// plaintext secrets. Keyed, so the stored value cannot be used to test
// guesses of a secret without the key. Equal rules give equal fingerprints
// whatever the order of their header maps; any change gives another.
func (r Rule) Fingerprint(key []byte) string {
	c := canonical{
		ID:                 r.ID.String(),
		Name:               r.Name,
		Project:            r.Project.String(),
		Filter:             r.Filter,
		TraceFilter:        r.TraceFilter,
		SamplingRate:       r.SamplingRate,
		IntervalNanos:      int64(r.Interval),
		Enabled:            r.Enabled,
		FeedbackRequire:    append([]string{}, r.Feedback.Require...),
		FeedbackWaitNanos:  int64(r.Feedback.Wait),
		FeedbackOnTimeout:  r.Feedback.OnTimeout,
		MaxRunsPerDelivery: r.MaxRunsPerDelivery,
		Webhooks:           make([]canonicalHook, len(r.Webhooks)),
	}
	if r.BackfillFrom != nil {
		c.BackfillFrom = r.BackfillFrom.UTC().Format(time.RFC3339Nano)
	}
	for i, w := range r.Webhooks {
		// Joined, so a rule with one secret keeps the fingerprint it had.
		h := canonicalHook{URL: w.URL, SigningSecret: strings.Join(w.SigningSecrets, " "), Headers: [][2]string{}, Format: string(w.Format), Retry: w.Retry}
		for name, value := range w.Headers {
			h.Headers = append(h.Headers, [2]string{name, value})
		}
		sort.Slice(h.Headers, func(a, b int) bool { return h.Headers[a][0] < h.Headers[b][0] })
		c.Webhooks[i] = h
	}
	// Marshalling strings, numbers and bools cannot fail.
	body, _ := json.Marshal(c)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(fingerprintVersion))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}
