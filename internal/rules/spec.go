package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gopkg.in/yaml.v3"

	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/payload"
)

// Spec is a rule without its secrets: what is stored as JSON in the rules
// table and shown by `rules get` and `rules list`. Webhooks holds each URL
// redacted (delivery.RedactURL); the targets themselves are sealed apart.
type Spec struct {
	ID                 uuid.UUID  `json:"id"`
	Name               string     `json:"name"`
	Project            uuid.UUID  `json:"project"`
	Filter             string     `json:"filter,omitempty"`
	TraceFilter        string     `json:"trace_filter,omitempty"`
	SamplingRate       float64    `json:"sampling_rate"`
	Interval           string     `json:"interval"` // Go duration, e.g. "1m", "1m30s"
	Enabled            bool       `json:"enabled"`
	BackfillFrom       *time.Time `json:"backfill_from,omitempty"`
	Feedback           Feedback   `json:"feedback,omitzero"`
	MaxRunsPerDelivery int        `json:"max_runs_per_delivery"`
	Webhooks           []string   `json:"webhooks"`
	// WebhookFormats is each webhook's format, by position ("" for
	// LangSmith's); absent when every webhook has LangSmith's.
	WebhookFormats []string `json:"webhook_formats,omitempty"`
	// WebhookRetries is each webhook's retry mode, by position ("" for
	// LangSmith's rules); absent when every webhook has LangSmith's.
	WebhookRetries []string `json:"webhook_retries,omitempty"`
}

// Spec drops the rule's secrets: webhook URLs are redacted, headers and
// signing secrets left out.
func (r Rule) Spec() Spec {
	s := Spec{
		ID:                 r.ID,
		Name:               r.Name,
		Project:            r.Project,
		Filter:             r.Filter,
		TraceFilter:        r.TraceFilter,
		SamplingRate:       r.SamplingRate,
		Interval:           FormatDuration(r.Interval),
		Enabled:            r.Enabled,
		Feedback:           r.Feedback,
		MaxRunsPerDelivery: r.MaxRunsPerDelivery,
		Webhooks:           make([]string, len(r.Webhooks)),
	}
	if r.BackfillFrom != nil {
		t := r.BackfillFrom.UTC()
		s.BackfillFrom = &t
	}
	s.Feedback.Require = append([]string(nil), r.Feedback.Require...)
	for i, w := range r.Webhooks {
		s.Webhooks[i] = delivery.RedactURL(w.URL)
		if w.Format != payload.FormatLangSmith {
			if s.WebhookFormats == nil {
				s.WebhookFormats = make([]string, len(r.Webhooks))
			}
			s.WebhookFormats[i] = string(w.Format)
		}
		if w.Retry != delivery.RetryLangSmith {
			if s.WebhookRetries == nil {
				s.WebhookRetries = make([]string, len(r.Webhooks))
			}
			s.WebhookRetries[i] = w.Retry
		}
	}
	return s
}

// ParseSpec reads a stored spec. Unknown fields are ignored, so a spec
// written by a newer runhook still reads during a rollback.
func ParseSpec(data []byte) (Spec, error) {
	var s Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return Spec{}, fmt.Errorf("rule spec: %w", err)
	}
	switch {
	case s.ID == uuid.Nil:
		return Spec{}, fmt.Errorf("rule spec: id is missing")
	case s.Name == "":
		return Spec{}, fmt.Errorf("rule spec %s: name is missing", s.ID)
	}
	if d, err := time.ParseDuration(s.Interval); err != nil || d < MinInterval {
		return Spec{}, fmt.Errorf("rule spec %s: interval %q is not a duration of at least %s", s.ID, s.Interval, MinInterval)
	}
	if _, err := s.FeedbackWait(); err != nil {
		return Spec{}, fmt.Errorf("rule spec %s: %w", s.ID, err)
	}
	return s, nil
}

// IntervalDuration is Interval parsed; ParseSpec and Rule.Spec guarantee it parses.
func (s Spec) IntervalDuration() time.Duration {
	d, _ := time.ParseDuration(s.Interval)
	return d
}

// feedbackJSON writes Wait as a Go duration, as the file does, not in nanoseconds.
type feedbackJSON struct {
	Require   []string `json:"require"`
	Wait      string   `json:"wait"`
	OnTimeout string   `json:"on_timeout"`
}

func (f Feedback) MarshalJSON() ([]byte, error) {
	return json.Marshal(feedbackJSON{Require: f.Require, Wait: FormatDuration(f.Wait), OnTimeout: f.OnTimeout})
}

func (f *Feedback) UnmarshalJSON(data []byte) error {
	var j feedbackJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	*f = Feedback{Require: j.Require, OnTimeout: j.OnTimeout}
	if j.Wait != "" {
		d, err := time.ParseDuration(j.Wait)
		if err != nil {
			return fmt.Errorf("feedback.wait %q is not a duration", j.Wait)
		}
		f.Wait = d
	}
	return nil
}

// specYAML is the file's shape, keys in the file's order.
type specYAML struct {
	Name               string        `yaml:"name"`
	ID                 string        `yaml:"id"`
	Project            string        `yaml:"project"`
	Filter             string        `yaml:"filter,omitempty"`
	TraceFilter        string        `yaml:"trace_filter,omitempty"`
	SamplingRate       float64       `yaml:"sampling_rate"`
	Interval           string        `yaml:"interval"`
	Enabled            bool          `yaml:"enabled"`
	BackfillFrom       string        `yaml:"backfill_from,omitempty"`
	Feedback           *feedbackYAML `yaml:"feedback,omitempty"`
	MaxRunsPerDelivery int           `yaml:"max_runs_per_delivery,omitempty"`
	Webhooks           []webhookYAML `yaml:"webhooks"`
}

type feedbackYAML struct {
	Require   []string `yaml:"require,flow"`
	Wait      string   `yaml:"wait"`
	OnTimeout string   `yaml:"on_timeout"`
}

type webhookYAML struct {
	URL    string `yaml:"url"`
	Format string `yaml:"format,omitempty"`
	Retry  string `yaml:"retry,omitempty"`
}

// YAML renders the spec in the rules file's format for `rules get`. Webhook
// URLs are redacted and headers and signing secrets absent, so the text is
// for reading: applying it back would post to "secret=***".
func (s Spec) YAML() string {
	y := specYAML{
		Name:               s.Name,
		ID:                 s.ID.String(),
		Project:            s.Project.String(),
		Filter:             s.Filter,
		TraceFilter:        s.TraceFilter,
		SamplingRate:       s.SamplingRate,
		Interval:           s.Interval,
		Enabled:            s.Enabled,
		MaxRunsPerDelivery: s.MaxRunsPerDelivery,
		Webhooks:           make([]webhookYAML, len(s.Webhooks)),
	}
	if s.BackfillFrom != nil {
		y.BackfillFrom = s.BackfillFrom.UTC().Format(time.RFC3339Nano)
	}
	if len(s.Feedback.Require) > 0 {
		y.Feedback = &feedbackYAML{Require: s.Feedback.Require, Wait: FormatDuration(s.Feedback.Wait), OnTimeout: s.Feedback.OnTimeout}
	}
	for i, u := range s.Webhooks {
		y.Webhooks[i] = webhookYAML{URL: u}
		if i < len(s.WebhookFormats) {
			y.Webhooks[i].Format = s.WebhookFormats[i]
		}
		if i < len(s.WebhookRetries) {
			y.Webhooks[i].Retry = s.WebhookRetries[i]
		}
	}
	var b bytes.Buffer
	b.WriteString("# webhook URLs redacted; headers and signing secrets not shown\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	// Encoding plain strings, numbers and bools cannot fail.
	_ = enc.Encode(y)
	_ = enc.Close()
	return b.String()
}

// FormatDuration is a duration as a rules file writes it: time.Duration.String
// without its zero tails, 1m, not 1m0s.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// FeedbackWait is how long a feedback-gated run waits for its keys; 0 when
// the rule is not gated. The error is for specs whose wait could not be
// read, which ParseSpec already refuses.
func (s Spec) FeedbackWait() (time.Duration, error) {
	if len(s.Feedback.Require) == 0 {
		return 0, nil
	}
	if s.Feedback.Wait <= 0 {
		return 0, fmt.Errorf("feedback.wait %s is not positive", s.Feedback.Wait)
	}
	return s.Feedback.Wait, nil
}
