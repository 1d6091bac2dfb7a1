package rules

import (
	"testing"
	"time"
)

// examples/rules.yaml must stay a valid file: it is what the README points at.
func TestExampleFile(t *testing.T) {
	lookup := env(map[string]string{"RUNHOOK_DEMO_SECRET": "demo-secret-value"})
	rs, err := Load("../../examples/rules.yaml", lookup, testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 {
		t.Fatalf("%d rules, want 2", len(rs))
	}
	plain, gated := rs[0], rs[1]
	if plain.Name != "slow-llm-calls" || plain.Project.String() != project || len(plain.Feedback.Require) != 0 {
		t.Errorf("plain rule %+v", plain)
	}
	if plain.Webhooks[0].URL != "http://127.0.0.1:9999/hook?secret=demo-secret-value" {
		t.Errorf("webhook URL %s", plain.Webhooks[0].URL)
	}
	want := Feedback{Require: []string{"answer_usefulness"}, Wait: 10 * time.Minute, OnTimeout: OnTimeoutSkip}
	if gated.Feedback.OnTimeout != want.OnTimeout || gated.Feedback.Wait != want.Wait || len(gated.Feedback.Require) != 1 || gated.Feedback.Require[0] != "answer_usefulness" {
		t.Errorf("gated rule feedback %+v", gated.Feedback)
	}
	if _, err := Load("../../examples/rules.yaml", env(nil), testPolicy); err == nil {
		t.Errorf("the example loads without RUNHOOK_DEMO_SECRET")
	}
}
