package ruleops

import (
	"fmt"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/filter"
	"github.com/runhook/runhook/internal/rules"
)

// MatchFor is the match a rule asks of a window: its project, its filter and
// trace filter parsed from the spec, and its sampling rate. A tick's match
// and a preview are both built here and both run through the store's one
// MatchRuns, so a preview cannot read the rule differently from a tick. The
// caller sets the owner, limit and recent range.
func MatchFor(spec rules.Spec, w clickhouse.Window) (clickhouse.Match, error) {
	m := clickhouse.Match{RuleID: spec.ID, Project: spec.Project, Window: w, SamplingRate: spec.SamplingRate}
	var err error
	if m.Filter, err = parse(spec.Filter); err != nil {
		return clickhouse.Match{}, fmt.Errorf("filter: %w", err)
	}
	if m.TraceFilter, err = parse(spec.TraceFilter); err != nil {
		return clickhouse.Match{}, fmt.Errorf("trace_filter: %w", err)
	}
	return m, nil
}

// parse reads stored filter source; "" is no filter.
func parse(src string) (filter.Expr, error) {
	if src == "" {
		return nil, nil
	}
	return filter.Parse(src)
}
