package ruleops_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/ruleops"
	"github.com/runhook/runhook/internal/rules"
)

func TestMatchForIsTheRulesMatch(t *testing.T) {
	spec := rules.Spec{ID: uuid.New(), Project: uuid.New(), Filter: `eq(run_type, "llm")`, TraceFilter: `eq(name, "agent")`, SamplingRate: 0.25}
	w := clickhouse.Window{After: time.Unix(100, 0), UpTo: time.Unix(200, 0)}
	m, err := ruleops.MatchFor(spec, w)
	if err != nil {
		t.Fatal(err)
	}
	if m.RuleID != spec.ID || m.Project != spec.Project || m.Window != w || m.SamplingRate != 0.25 || m.Filter == nil || m.TraceFilter == nil {
		t.Fatalf("match %+v", m)
	}
	if m, err := ruleops.MatchFor(rules.Spec{SamplingRate: 1}, w); err != nil || m.Filter != nil || m.TraceFilter != nil {
		t.Fatalf("no filters: %+v, %v", m, err)
	}
	for _, c := range []struct {
		spec rules.Spec
		want string
	}{
		{rules.Spec{Filter: "eq(name"}, "filter: "},
		{rules.Spec{TraceFilter: "eq(name"}, "trace_filter: "},
	} {
		if _, err := ruleops.MatchFor(c.spec, w); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.spec, err, c.want)
		}
	}
}
