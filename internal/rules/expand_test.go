package rules

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func TestExpand(t *testing.T) {
	lookup := env(map[string]string{"A": "alpha", "B_2": "beta", "EMPTY": ""})
	cases := []struct {
		name, in, out string
		values        []string
	}{
		{"none", "a: b\n", "a: b\n", nil},
		{"one", "a: ${A}\n", "a: alpha\n", []string{"alpha"}},
		{"several on a line", "u: x?a=${A}&b=${B_2}&c=${A}", "u: x?a=alpha&b=beta&c=alpha", []string{"alpha", "beta"}},
		{"empty value", "a: '${EMPTY}'", "a: ''", nil},
		{"escape", "a: $${A}", "a: ${A}", nil},
		{"escape then variable", "a: $${A}${A}", "a: ${A}alpha", []string{"alpha"}},
		{"lone dollars", "a: $A $$ $ ${A}$", "a: $A $$ $ alpha$", []string{"alpha"}},
		{"in a comment", "# ${A}\na: 1", "# alpha\na: 1", []string{"alpha"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, values, errs := expand([]byte(c.in), lookup)
			if len(errs) > 0 {
				t.Fatalf("errors: %v", errs)
			}
			if string(out) != c.out {
				t.Errorf("got %q, want %q", out, c.out)
			}
			if !reflect.DeepEqual(values, c.values) {
				t.Errorf("values %q, want %q", values, c.values)
			}
		})
	}
}

func TestExpandErrors(t *testing.T) {
	lookup := env(map[string]string{"A": "alpha", "MULTI": "line1\nline2-secret"})
	cases := []struct {
		name, in string
		want     []string
	}{
		{"missing", "a: 1\nb: ${NOPE}\n", []string{"environment variable NOPE is not set (line 2)"}},
		{"every missing one", "a: ${X}\nb: ${A}\nc: ${Y} ${X}\n", []string{
			"environment variable X is not set (line 1)",
			"environment variable Y is not set (line 3)",
			"environment variable X is not set (line 3)",
		}},
		{"bad name", "a: ${1A}\n", []string{"${ must be followed by a variable name (letters, digits, _) and }; write $${ for a literal ${ (line 1)"}},
		{"default syntax unsupported", "a: ${A:-x}\n", []string{"${ must be followed by a variable name (letters, digits, _) and }; write $${ for a literal ${ (line 1)"}},
		{"unterminated", "\n\na: ${A\n", []string{"${ must be followed by a variable name (letters, digits, _) and }; write $${ for a literal ${ (line 3)"}},
		{"empty name", "a: ${}\n", []string{"${ must be followed by a variable name (letters, digits, _) and }; write $${ for a literal ${ (line 1)"}},
		{"line break in value", "a: ${MULTI}\n", []string{"environment variable MULTI contains a line break, which a rules file value cannot take (line 1)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, errs := expand([]byte(c.in), lookup)
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
				if strings.Contains(e.Error(), "secret") || strings.Contains(e.Error(), "alpha") {
					t.Errorf("error shows a value: %v", e)
				}
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

func TestExpandNilLookup(t *testing.T) {
	_, _, errs := expand([]byte("a: ${A}"), nil)
	if len(errs) != 1 || errs[0].Error() != "environment variable A is not set (line 1)" {
		t.Fatalf("errors %v", errs)
	}
}

// Parse stops after expansion problems: a half-substituted file would only
// add confusing errors.
func TestParseReportsExpansionErrors(t *testing.T) {
	_, err := Parse([]byte(ruleFile("    interval: ${INTERVAL}\n    filter: ${FILTER}\n")), env(nil), testPolicy)
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v", err)
	}
	want := "environment variable INTERVAL is not set (line 4)\nenvironment variable FILTER is not set (line 5)"
	if err.Error() != want {
		t.Errorf("error:\n%s\nwant:\n%s", err, want)
	}
}

func TestHider(t *testing.T) {
	h := hider{values: []string{"s3cr3t-token", "ab"}}
	if got := h.quote("x?token=s3cr3t-token"); got != "(a value from the environment)" {
		t.Errorf("quote of a tainted value = %s", got)
	}
	if got := h.quote("plain"); got != `"plain"` {
		t.Errorf("quote = %s", got)
	}
	if got := h.quote(strings.Repeat("é", 70)); got != `"`+strings.Repeat("é", 64)+`…"` {
		t.Errorf("long quote = %s", got)
	}
	// Values under minScrub are left alone in library messages: "ab" is no
	// secret, and scrubbing it would garble the words around it.
	if got := h.scrub("line 2: bad value s3cr3t-token in table"); got != "line 2: bad value *** in table" {
		t.Errorf("scrub = %s", got)
	}
}
