package rules

import (
	"errors"
	"testing"
)

func TestFieldErrorFormat(t *testing.T) {
	cases := []struct {
		err  FieldError
		want string
	}{
		{FieldError{Rule: `rule "slow-llm-calls"`, Path: "webhooks[0].url", Line: 12, Msg: "must be http or https"}, `rule "slow-llm-calls": webhooks[0].url: must be http or https (line 12)`},
		{FieldError{Rule: "rules[3]", Path: "name", Msg: "is required"}, "rules[3]: name: is required"},
		{FieldError{Rule: `rule "a"`, Msg: "unknown key"}, `rule "a": unknown key`},
		{FieldError{Line: 2, Msg: "environment variable X is not set"}, "environment variable X is not set (line 2)"},
	}
	for _, c := range cases {
		if got := c.err.Error(); got != c.want {
			t.Errorf("got %s, want %s", got, c.want)
		}
	}
}

func TestFileError(t *testing.T) {
	a := &FieldError{Rule: "rules[0]", Path: "name", Line: 2, Msg: "is required"}
	b := &FieldError{Rule: `rule "b"`, Path: "interval", Line: 9, Msg: "too short"}
	fe := &FileError{Errs: []error{a, b}}
	if got, want := fe.Error(), "rules[0]: name: is required (line 2)\nrule \"b\": interval: too short (line 9)"; got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	fe.Path = "rules.yaml"
	if got, want := fe.Error(), "rules.yaml: rules[0]: name: is required (line 2)\nrules.yaml: rule \"b\": interval: too short (line 9)"; got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	var fieldErr *FieldError
	if !errors.As(fe, &fieldErr) || fieldErr != a {
		t.Errorf("errors.As does not reach the field errors")
	}
	if !errors.Is(fe, b) {
		t.Errorf("errors.Is does not reach the second error")
	}
}
