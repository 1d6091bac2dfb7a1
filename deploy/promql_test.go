package deploy_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/prometheus/common/model"
)

// Prometheus's own parser (promql/parser) imports its storage package, whose
// module graph brings cloud SDKs into go.sum and newer gRPC-gateway and
// x/time into the worker's build. This reader is enough for dashboard
// queries instead: it finds the selectors, matchers and grouping labels the
// checks need, and rejects what it does not know (an unknown function, a
// selector without a metric name, a bad duration, unbalanced brackets), so a
// query it accepts has nothing in it that went unchecked.

type promMatcher struct{ label, op, value string }

type promSelector struct {
	name     string
	matchers []promMatcher
}

type promQuery struct {
	selectors []promSelector
	grouping  []string // by, without, on, ignoring, group_left and group_right labels
}

// promFunctions are the functions and aggregations a dashboard query may call.
var promFunctions = []string{
	"abs", "avg", "avg_over_time", "bottomk", "ceil", "clamp", "clamp_max", "clamp_min", "count",
	"count_over_time", "delta", "deriv", "floor", "group", "histogram_quantile", "idelta",
	"increase", "irate", "label_replace", "last_over_time", "max", "max_over_time", "min",
	"min_over_time", "quantile", "quantile_over_time", "rate", "resets", "round", "scalar", "sort",
	"sort_desc", "stddev", "sum", "sum_over_time", "time", "topk", "vector",
}

var (
	promGroupingKeywords = []string{"by", "without", "on", "ignoring", "group_left", "group_right"}
	promOperatorKeywords = []string{"and", "or", "unless", "bool"}
)

type promToken struct {
	kind byte // 'i' identifier, 's' string, 'n' number, 'd' [range], else the punctuation itself ('(' ... '=' for any comparison)
	text string
}

func promTokens(expr string) ([]promToken, error) {
	var toks []promToken
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '_' || c == ':' || unicode.IsLetter(rune(c)):
			j := i + 1
			for j < len(expr) && (expr[j] == '_' || expr[j] == ':' || unicode.IsLetter(rune(expr[j])) || unicode.IsDigit(rune(expr[j]))) {
				j++
			}
			toks = append(toks, promToken{'i', expr[i:j]})
			i = j
		case unicode.IsDigit(rune(c)) || c == '.':
			j := i + 1
			for j < len(expr) && (unicode.IsDigit(rune(expr[j])) || expr[j] == '.' || expr[j] == 'e') {
				j++
			}
			if _, err := strconv.ParseFloat(expr[i:j], 64); err != nil {
				return nil, fmt.Errorf("bad number %q", expr[i:j])
			}
			toks = append(toks, promToken{'n', expr[i:j]})
			i = j
		case c == '"' || c == '\'':
			j := i + 1
			for j < len(expr) && expr[j] != c {
				if expr[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(expr) {
				return nil, fmt.Errorf("unterminated string at %d", i)
			}
			quoted := expr[i : j+1]
			if c == '\'' {
				quoted = `"` + strings.ReplaceAll(expr[i+1:j], `"`, `\"`) + `"`
			}
			s, err := strconv.Unquote(quoted)
			if err != nil {
				return nil, fmt.Errorf("string at %d: %v", i, err)
			}
			toks = append(toks, promToken{'s', s})
			i = j + 1
		case c == '[':
			j := strings.IndexByte(expr[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("unterminated [ at %d", i)
			}
			// A range [5m] or a subquery [5m:1m] (the step may be empty).
			for k, d := range strings.Split(expr[i+1:i+j], ":") {
				if k == 1 && d == "" {
					continue
				}
				if _, err := model.ParseDuration(d); err != nil || k > 1 {
					return nil, fmt.Errorf("bad range %q", expr[i:i+j+1])
				}
			}
			toks = append(toks, promToken{'d', expr[i : i+j+1]})
			i += j + 1
		case strings.ContainsRune("(){},+-*/%^", rune(c)):
			toks = append(toks, promToken{c, string(c)})
			i++
		case strings.ContainsRune("=!<>", rune(c)):
			j := i + 1
			if j < len(expr) && (expr[j] == '=' || expr[j] == '~') {
				j++
			}
			op := expr[i:j]
			if op == "!" {
				return nil, fmt.Errorf("stray ! at %d", i)
			}
			toks = append(toks, promToken{'=', op})
			i = j
		default:
			return nil, fmt.Errorf("unexpected %q at %d", c, i)
		}
	}
	return toks, nil
}

func readPromQuery(expr string) (promQuery, error) {
	toks, err := promTokens(expr)
	if err != nil {
		return promQuery{}, err
	}
	var q promQuery
	var parens int
	at := func(i int, kind byte) bool { return i < len(toks) && toks[i].kind == kind }
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.kind == '(':
			parens++
		case t.kind == ')':
			if parens--; parens < 0 {
				return q, fmt.Errorf("unbalanced )")
			}
		case t.kind == '{':
			return q, fmt.Errorf("a selector without a metric name")
		case t.kind == '}' || (t.kind == ',' && parens == 0):
			return q, fmt.Errorf("unexpected %s", t.text)
		case t.kind == 'd':
			if i == 0 || (toks[i-1].kind != 'i' && toks[i-1].kind != '}' && toks[i-1].kind != ')') {
				return q, fmt.Errorf("range %s follows no selector", t.text)
			}
		case t.kind == 'i' && slices.Contains(promGroupingKeywords, t.text):
			if !at(i+1, '(') {
				if strings.HasPrefix(t.text, "group_") {
					continue
				}
				return q, fmt.Errorf("%s without a label list", t.text)
			}
			i += 2
			for ; i < len(toks) && toks[i].kind != ')'; i++ {
				switch {
				case toks[i].kind == 'i':
					q.grouping = append(q.grouping, toks[i].text)
				case toks[i].kind != ',':
					return q, fmt.Errorf("%s (...) holds %q", t.text, toks[i].text)
				}
			}
			if i == len(toks) {
				return q, fmt.Errorf("unterminated %s (", t.text)
			}
		case t.kind == 'i' && slices.Contains(promOperatorKeywords, t.text):
		case t.kind == 'i' && (at(i+1, '(') || slices.Contains(promGroupingKeywords[:2], textAt(toks, i+1))):
			if !slices.Contains(promFunctions, t.text) {
				return q, fmt.Errorf("unknown function %s", t.text)
			}
		case t.kind == 'i':
			sel := promSelector{name: t.text}
			if at(i+1, '{') {
				for i += 2; !at(i, '}'); i++ {
					if !at(i, 'i') || !at(i+1, '=') || !at(i+2, 's') {
						return q, fmt.Errorf("%s{...}: want label op \"value\"", t.text)
					}
					op := toks[i+1].text
					if !slices.Contains([]string{"=", "!=", "=~", "!~"}, op) {
						return q, fmt.Errorf("%s{...}: bad matcher op %s", t.text, op)
					}
					sel.matchers = append(sel.matchers, promMatcher{toks[i].text, op, toks[i+2].text})
					i += 3
					if at(i, '}') {
						break
					}
					if !at(i, ',') {
						return q, fmt.Errorf("%s{...}: want , or }", t.text)
					}
				}
			}
			q.selectors = append(q.selectors, sel)
		}
	}
	if parens != 0 {
		return q, fmt.Errorf("unbalanced (")
	}
	if len(q.selectors) == 0 {
		return q, fmt.Errorf("no metric selected")
	}
	return q, nil
}

func textAt(toks []promToken, i int) string {
	if i < len(toks) {
		return toks[i].text
	}
	return ""
}

func TestReadPromQuery(t *testing.T) {
	q, err := readPromQuery(`histogram_quantile(0.9, sum by (le) (rate(a_bucket{job="x",class!~'b|c'}[1m]))) / on (instance) group_left sum without(x) (b) > bool 0`)
	if err != nil {
		t.Fatal(err)
	}
	want := promQuery{
		selectors: []promSelector{
			{"a_bucket", []promMatcher{{"job", "=", "x"}, {"class", "!~", "b|c"}}},
			{"b", nil},
		},
		grouping: []string{"le", "instance", "x"},
	}
	if fmt.Sprint(q) != fmt.Sprint(want) {
		t.Errorf("got %+v\nwant %+v", q, want)
	}
	for _, bad := range []string{
		`rte(a[1m])`,                  // unknown function
		`sum(rate(a[1m])`,             // unbalanced
		`rate({__name__="a"}[1m])`,    // no metric name
		`rate(a[1x])`,                 // bad duration
		`a{job="x"`,                   // unterminated matchers
		`a{job=x}`,                    // unquoted value
		`sum by le (a)`,               // grouping without parens
		`a{job="x"} [1m]] + 1`,        // stray ]
		`1 + 2`,                       // nothing selected
		`rate(a[$__rate_interval])`,   // a variable not filled in
		`a{job=="x"}`,                 // bad op
		`a{job="x"}{class="y"}`,       // two matcher sets
		`sum(rate(a[1m])) by (le) )(`, // unbalanced
	} {
		if q, err := readPromQuery(bad); err == nil {
			t.Errorf("%s: accepted as %+v", bad, q)
		}
	}
}
