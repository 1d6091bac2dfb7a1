package ruleservice

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/runhook/runhook/internal/rules"
)

// Problem is one problem of a refused rules file, for an API client: Field
// is the rule's place in the file and the field, as in
// rules[1].webhooks[0].url; Rule names the rule as the CLI does.
type Problem struct {
	Field string `json:"field,omitempty"`
	Rule  string `json:"rule,omitempty"`
	Line  int    `json:"line,omitempty"`
	Error string `json:"error"`
}

// Problems lists the problems of err, a *rules.FileError from parsing data,
// each with its field under rules[i]; nil when err is not one.
func Problems(data []byte, err error) []Problem {
	var fe *rules.FileError
	if !errors.As(err, &fe) {
		return nil
	}
	names := ruleNames(data)
	var out []Problem
	for _, e := range fe.Errs {
		var f *rules.FieldError
		if !errors.As(e, &f) {
			out = append(out, Problem{Error: e.Error()})
			continue
		}
		p := Problem{Rule: f.Rule, Line: f.Line, Error: f.Error()}
		if at := ruleIndex(f.Rule, names); at != "" {
			p.Field = at
			if f.Path != "" {
				p.Field += "." + f.Path
			}
		}
		out = append(out, p)
	}
	return out
}

// ruleIndex is "rules[i]" for a FieldError's rule label: `rules[3]`, or
// `rule "name"` looked up among the file's names (the first, as a
// duplicate is named by the problem itself).
func ruleIndex(label string, names []string) string {
	if strings.HasPrefix(label, "rules[") {
		return label
	}
	name, err := strconv.Unquote(strings.TrimPrefix(label, "rule "))
	if err != nil {
		return ""
	}
	for i, n := range names {
		if n == name {
			return fmt.Sprintf("rules[%d]", i)
		}
	}
	return ""
}

// ruleNames are the names of a rules file's rules in order, "" where a rule
// has none; nil when the file does not read as one.
func ruleNames(data []byte) []string {
	var f struct {
		Rules []struct {
			Name any `yaml:"name"`
		} `yaml:"rules"`
	}
	if yaml.Unmarshal(data, &f) != nil {
		return nil
	}
	names := make([]string, len(f.Rules))
	for i, r := range f.Rules {
		if s, ok := r.Name.(string); ok {
			names[i] = s
		}
	}
	return names
}
