package ruleservice_test

import (
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/rules"
	"github.com/runhook/runhook/internal/ruleservice"
)

// Each problem's field is the rule's place in the file and the field,
// whether the rule is labelled by its name or, nameless, by its place.
func TestProblemsNameTheRuleAndField(t *testing.T) {
	file := fmt.Sprintf(`rules:
  - name: fine
    project: %s
    webhooks: [{url: "https://hooks.example/a"}]
  - name: broken
    project: %s
    sampling_rate: 3
    webhooks: [{url: "ftp://hooks.example/b?secret=hush"}]
  - project: %s
    webhooks: [{url: "https://hooks.example/c"}]
`, uuid.New(), uuid.New(), uuid.New())
	_, err := rules.Parse([]byte(file), nil, delivery.URLPolicy{})
	got := map[string]bool{}
	for _, p := range ruleservice.Problems([]byte(file), err) {
		got[p.Field] = true
		if p.Error == "" || p.Line == 0 {
			t.Errorf("problem %+v", p)
		}
	}
	for _, want := range []string{"rules[1].sampling_rate", "rules[1].webhooks[0].url", "rules[2].name"} {
		if !got[want] {
			t.Errorf("no problem for %s in %v (%v)", want, got, err)
		}
	}
	if ruleservice.Problems(nil, fmt.Errorf("other")) != nil {
		t.Error("Problems of an error that is no FileError")
	}
}
