// Package rules reads rules as code: the YAML file `starter rules apply -f`
// takes, each rule naming a project, the filters its runs must pass and the
// webhooks they are posted to. Parse checks the whole file and reports every
// problem at once; a file with any problem yields no rules, so a file is
// applied whole or not at all.
package rules

import (
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/payload"
)

// Rule is one automation rule in the clear: webhook URLs, headers and
// signing secrets included. Only Spec is fit to store or show.
type Rule struct {
	ID                 uuid.UUID
	Name               string
	Project            uuid.UUID // the session whose runs the rule watches
	Filter             string    // LangSmith filter syntax; empty = every run
	TraceFilter        string    // tested on the trace's root run; empty = any
	SamplingRate       float64   // 0..1
	Interval           time.Duration
	Enabled            bool
	BackfillFrom       *time.Time // UTC
	Feedback           Feedback
	MaxRunsPerDelivery int // 0 = delivery.max_runs_per_delivery
	Webhooks           []Webhook
}

// Feedback gates delivery on feedback: a matched run is held until it carries
// every Require key, or until Wait has passed, when OnTimeout says whether it
// is delivered anyway. The zero value (no Require) delivers at once.
type Feedback struct {
	Require   []string
	Wait      time.Duration
	OnTimeout string // OnTimeoutSkip or OnTimeoutDeliver; empty when Require is
}

// What a feedback-gated run does when Wait passes without every key.
const (
	OnTimeoutSkip    = "skip"
	OnTimeoutDeliver = "deliver"
)

// Webhook is one target in the clear.
type Webhook struct {
	URL     string
	Headers map[string]string // nil when none
	// SigningSecrets are whsec_... secrets, at most signing.MaxSecrets (one,
	// or two while the receiver rotates); none = unsigned.
	SigningSecrets []string
	// Format is the body's shape: LangSmith's (the zero value) or, with
	// `format: langgraph`, each run alone in LangGraph's Run shape.
	Format payload.Format
	// Retry is the retry mode: LangSmith's rules (the zero value) or, with
	// `retry: standard`, the Standard Webhooks schedule (delivery.RetryStandard).
	Retry string
}

// Limits and defaults of the file format.
const (
	MaxNameLength       = 200
	MaxWebhooks         = 10
	MaxHeaders          = 50
	MaxFeedbackKeys     = 50
	MaxRunsPerDelivery  = 10000
	MinInterval         = time.Second
	DefaultInterval     = time.Minute
	DefaultFeedbackWait = time.Hour
	MaxFeedbackWait     = 7 * 24 * time.Hour
)

// idNamespace is uuid.NewSHA1(uuid.NameSpaceURL, "https://github.com/runhook/runhook/rules"),
// written out so a rule's derived id can never change with the code around it.
var idNamespace = uuid.MustParse("07652bef-82f2-5c6f-aff7-5709ebb9d9d5")

// DeriveID is the id of a rule whose file gives none. It depends on the name
// alone, so re-applying a file updates the same rules, and renaming a rule
// without an id makes it a new rule (the old one is left to `rules delete`
// or pruning).
func DeriveID(name string) uuid.UUID {
	return uuid.NewSHA1(idNamespace, []byte(name))
}

// Parse reads a rules file. ${VAR} is substituted from lookup first (nil
// means no variable is set); policy is the delivery policy webhook URLs must
// pass. On any problem it returns no rules and a *FileError listing all of
// them.
func Parse(data []byte, lookup func(string) (string, bool), policy delivery.URLPolicy) ([]Rule, error) {
	expanded, values, errs := expand(data, lookup)
	if len(errs) > 0 {
		return nil, &FileError{Errs: errs}
	}
	sort.SliceStable(values, func(i, j int) bool { return len(values[i]) > len(values[j]) })
	d := &decoder{hide: hider{values: values}, policy: policy}
	rules := d.file(expanded)
	if len(d.errs) > 0 {
		sort.SliceStable(d.errs, func(i, j int) bool { return d.errs[i].Line < d.errs[j].Line })
		fe := &FileError{Errs: make([]error, len(d.errs))}
		for i, e := range d.errs {
			fe.Errs[i] = e
		}
		return nil, fe
	}
	return rules, nil
}

// Load reads and parses the rules file at path; its errors name the path.
func Load(path string, lookup func(string) (string, bool), policy delivery.URLPolicy) ([]Rule, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rules file: %w", err)
	}
	rules, err := Parse(data, lookup, policy)
	if fe, ok := err.(*FileError); ok {
		fe.Path = path
	}
	return rules, err
}
