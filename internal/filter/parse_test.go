package filter

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseCanonical(t *testing.T) {
	cases := []struct{ in, want string }{
		{``, ``},
		{"  \n\t ", ``},
		{`eq(name,"x")`, `eq(name, "x")`},
		{` eq ( name , "x" ) `, `eq(name, "x")`},
		{`eq(name, 'single')`, `eq(name, "single")`},
		{`eq(name, 'it\'s "q"')`, `eq(name, "it's \"q\"")`},
		{`eq(name, "a\\b\/c\n\t\r\b\f")`, `eq(name, "a\\b/c\n\t\r\u0008\u000c")`},
		{`eq(name, "\u00e9\ud83d\ude00")`, `eq(name, "é😀")`},
		{`eq(name, "日本")`, `eq(name, "日本")`},
		{`eq(name, "")`, `eq(name, "")`},
		{`gt(total_tokens, 5000)`, `gt(total_tokens, 5000)`},
		{`gt(total_tokens, -5)`, `gt(total_tokens, -5)`},
		{`gt(total_tokens, -0)`, `gt(total_tokens, 0)`},
		{`gt(total_cost, 1.50)`, `gt(total_cost, 1.5)`},
		{`gt(total_cost, 2.0)`, `gt(total_cost, 2.0)`},
		{`gt(total_cost, 1E3)`, `gt(total_cost, 1000.0)`},
		{`gt(total_cost, 1e-7)`, `gt(total_cost, 1e-07)`},
		{`gt(total_cost, 1e21)`, `gt(total_cost, 1e+21)`},
		{`gt(total_tokens, 99999999999999999999)`, `gt(total_tokens, 1e+20)`},
		{`gt(latency, "5s")`, `gt(latency, "5s")`},
		{`gt(latency, 2)`, `gt(latency, 2)`},
		{`eq(is_root, true)`, `eq(is_root, true)`},
		{`neq(error, null)`, `neq(error, null)`},
		{`eq(error, false)`, `eq(error, false)`},
		{`has(tags, "beta")`, `has(tags, "beta")`},
		{`in(run_type, ["llm",'chain' ])`, `in(run_type, ["llm", "chain"])`},
		{`search("image classification")`, `search("image classification")`},
		{`search(input_value, "x")`, `search(input_value, "x")`},
		{`exists(end_time)`, `exists(end_time)`},
		{`not(eq(name, "x"))`, `not(eq(name, "x"))`},
		{`and(eq(name, "x"))`, `and(eq(name, "x"))`},
		{`and(eq(feedback_key, "star_rating"), gt(feedback_score, 4))`, `and(eq(feedback_key, "star_rating"), gt(feedback_score, 4))`},
		{`and(gt(start_time, "2023-07-15T12:34:56Z"), or(neq(error, null), and(eq(feedback_key, "Correctness"), eq(feedback_score, 0.0))))`,
			`and(gt(start_time, "2023-07-15T12:34:56Z"), or(neq(error, null), and(eq(feedback_key, "Correctness"), eq(feedback_score, 0.0))))`},
		{`and(in(metadata_key, ["session_id","conversation_id","thread_id"]), eq(metadata_value, "g"))`,
			`and(in(metadata_key, ["session_id", "conversation_id", "thread_id"]), eq(metadata_value, "g"))`},
		{`eq(metadata_value, 3)`, `eq(metadata_value, 3)`},
		{`eq(metadata_value, null)`, `eq(metadata_value, null)`},
		{`eq(start_time, "2024-04-05T01:28:54.085646")`, `eq(start_time, "2024-04-05T01:28:54.085646")`},
		{`eq(id, "6A7F8B2E-1C3D-4E5F-8A9B-0C1D2E3F4A5B")`, `eq(id, "6A7F8B2E-1C3D-4E5F-8A9B-0C1D2E3F4A5B")`},
	}
	for _, tc := range cases {
		e, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		got := ""
		if e != nil {
			got = e.String()
		}
		if got != tc.want {
			t.Errorf("Parse(%q) = %s, want %s", tc.in, got, tc.want)
			continue
		}
		if e == nil {
			continue
		}
		again, err := Parse(got)
		if err != nil || !reflect.DeepEqual(again, e) {
			t.Errorf("canonical %s re-parses to %v, %v", got, again, err)
		}
	}
}

func TestParseTree(t *testing.T) {
	e, err := Parse(`and(eq(name, "x"), or(not(has(tags, "a")), in(run_type, ["llm"])))`)
	if err != nil {
		t.Fatal(err)
	}
	want := &And{Args: []Expr{
		&Cmp{Op: "eq", Field: "name", Value: Value{Kind: String, Str: "x"}},
		&Or{Args: []Expr{
			&Not{Arg: &Cmp{Op: "has", Field: "tags", Value: Value{Kind: String, Str: "a"}}},
			&Cmp{Op: "in", Field: "run_type", Value: Value{Kind: List, List: []Value{{Kind: String, Str: "llm"}}}},
		}},
	}}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("got %#v", e)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		in     string
		syntax bool // *SyntaxError rather than *Error
		pos    int
		msg    string
	}{
		// syntax
		{`eq(name, "x"`, true, 13, `expected "," or ")" after argument, found end of filter`},
		{`eq(name "x")`, true, 9, `expected "," or ")" after argument, found '"'`},
		{`and(eq(name, "x") eq(name, "y"))`, true, 19, `expected "," or ")" after argument, found 'e'`},
		{`eq(name, "x"))`, true, 14, `unexpected ')' after the end of the filter`},
		{`eq(name, "x") and`, true, 15, `unexpected 'a' after the end of the filter`},
		{`"x"`, true, 1, `expected a condition like eq(name, "x"), found '"'`},
		{`and(1)`, true, 5, `expected a condition like eq(name, "x"), found '1'`},
		{`equals(name, "x")`, true, 1, `unknown function "equals"`},
		{`AND(eq(name, "x"))`, true, 1, `unknown function "AND"`},
		{`name`, true, 1, `unknown function "name"`},
		{`eq name`, true, 4, `expected "(" after eq, found 'n'`},
		{`eq`, true, 3, `expected "(" after eq, found end of filter`},
		{`eq(name, "x`, true, 10, `unterminated string`},
		{`eq(name, 'x")`, true, 10, `unterminated string`},
		{`eq(name, "x\`, true, 10, `unterminated string`},
		{`eq(name, "a\qb")`, true, 12, `invalid escape \q in string`},
		{`eq(name, "\u12")`, true, 11, `invalid \u escape: want four hex digits`},
		{`eq(name, "\ud800")`, true, 11, `invalid \u escape: unpaired surrogate`},
		{`eq(name, "\udc00\ud800")`, true, 11, `invalid \u escape: unpaired surrogate`},
		{`eq(name, x)`, false, 10, `expected a value, found x (quote strings: "x")`},
		{`in(name, [x])`, true, 11, `expected a value, found x (quote strings: "x")`},
		{`eq(name, )`, true, 10, `expected a value, found ')'`},
		{`eq(name, -)`, true, 11, `expected a digit, found ')'`},
		{`eq(total_tokens, 1.)`, true, 20, `expected a digit after ".", found ')'`},
		{`eq(total_tokens, 1e)`, true, 20, `expected a digit in the exponent, found ')'`},
		{`eq(total_tokens, 12abc)`, true, 20, `unexpected 'a' in number`},
		{`eq(total_tokens, 1.2.3)`, true, 21, `unexpected '.' in number`},
		{`eq(total_cost, 1e999)`, true, 16, `number 1e999 is out of range`},
		{`in(name, ["a" "b"])`, true, 15, `expected "," or "]" after list element, found '"'`},
		{`in(name, [["a"]])`, true, 11, `lists cannot be nested`},
		{`in(name, ["a",])`, true, 15, `expected a value, found ']'`},
		{`eq(name, "x") ` + "\xff", true, 15, `invalid UTF-8`},
		{`eq(名, "x")`, true, 4, `expected a value, found '名'`},
		{strings.Repeat(" ", MaxLength+1), true, 1, `filter is 65537 bytes long; the limit is 65536`},
		{strings.Repeat("not(", MaxDepth+1) + `eq(name, "x")` + strings.Repeat(")", MaxDepth+1), true, 4*MaxDepth + 1, `filter nests and/or/not deeper than 64`},
		// types
		{`and()`, false, 5, `and() needs at least one condition`},
		{`or( )`, false, 5, `or() needs at least one condition`},
		{`not(eq(name, "x"), eq(name, "y"))`, false, 1, `not() takes one condition, got 2`},
		{`eq(nme, "x")`, false, 4, `unknown field "nme"`},
		{`eq("name", "x")`, false, 4, `expected a field name as the first argument of eq, found a string`},
		{`eq(name)`, false, 8, `eq takes two arguments: a field and a value, got 1 argument`},
		{`eq(name, "x", "y")`, false, 15, `eq takes two arguments: a field and a value, got 3 arguments`},
		{`eq()`, false, 4, `eq takes two arguments: a field and a value, got 0 arguments`},
		{`exists(error, true)`, false, 15, `exists takes one argument: a field, got 2 arguments`},
		{`exists(name)`, false, 1, `exists does not apply to name, which takes eq, neq, in, search`},
		{`search()`, false, 8, `search takes a string, or a field and a string, got 0 arguments`},
		{`search(1)`, false, 8, `search needs a string, got an integer`},
		{`search(name, 1)`, false, 14, `search(name, ...) needs a string, got an integer`},
		{`search(name)`, false, 12, `search takes a string, or a field and a string, got 1 argument`},
		{`gt(name, "x")`, false, 1, `gt does not apply to name, which takes eq, neq, in, search`},
		{`has(name, "x")`, false, 1, `has does not apply to name, which takes eq, neq, in, search`},
		{`eq(tags, "x")`, false, 1, `eq does not apply to tags, which takes has, in, search, exists`},
		{`eq(name, 1)`, false, 10, `name needs a string, got an integer`},
		{`eq(name, name)`, false, 10, `expected a value, found name (quote strings: "name")`},
		{`eq(name, null)`, false, 10, `eq(name, null) does not apply`},
		{`gt(end_time, null)`, false, 14, `gt(end_time, null) does not apply`},
		{`eq(name, ["x"])`, false, 10, `name needs a string, got a list`},
		{`in(name, "x")`, false, 10, `in needs a list like ["a", "b"], got a string`},
		{`in(name, [])`, false, 10, `in needs at least one value`},
		{`in(name, ["a", 2])`, false, 16, `in(name, ...) needs strings, got an integer`},
		{`in(id, ["6a7f8b2e-1c3d-4e5f-8a9b-0c1d2e3f4a5b", "nope"])`, false, 49, `id needs a UUID, got "nope"`},
		{`eq(id, "nope")`, false, 8, `id needs a UUID, got "nope"`},
		{`eq(trace_id, 5)`, false, 14, `trace_id needs a UUID string, got an integer`},
		{`gt(start_time, "yesterday")`, false, 16, `bad time "yesterday": want RFC 3339 like "2024-04-05T01:28:54.085646Z" (no zone means UTC)`},
		{`gt(start_time, 1712280534)`, false, 16, `start_time needs a time string like "2024-04-05T01:28:54Z", got an integer`},
		{`gt(latency, "5 seconds")`, false, 13, `bad latency "5 seconds": want a duration like "5s", "1.5s" or "200ms", or a number of seconds`},
		{`gt(latency, true)`, false, 13, `latency needs a duration like "5s" or a number of seconds, got a boolean`},
		{`gt(total_tokens, "5")`, false, 18, `total_tokens needs a number, got a string`},
		{`eq(is_root, 1)`, false, 13, `is_root needs true or false, got an integer`},
		{`eq(error, 1)`, false, 11, `error needs true, false, null or a string, got an integer`},
		{`gt(error, "x")`, false, 1, `gt does not apply to error, which takes eq, neq, search, exists`},
		{`gt(metadata_value, true)`, false, 20, `gt(metadata_value, ...) needs a string or a number, got a boolean`},
		{`gt(feedback_score, "high")`, false, 20, `feedback_score needs a number, got a string`},
		{`gt(metadata_key, "a")`, false, 1, `gt does not apply to metadata_key, which takes eq, neq, in, search`},
		{`exists(metadata_key)`, false, 1, `exists does not apply to metadata_key, which takes eq, neq, in, search`},
	}
	for _, tc := range cases {
		_, err := Parse(tc.in)
		var se *SyntaxError
		var te *Error
		switch {
		case err == nil:
			t.Errorf("Parse(%.60q) succeeded, want %s", tc.in, tc.msg)
		case tc.syntax && errors.As(err, &se):
			if se.Pos != tc.pos || se.Msg != tc.msg {
				t.Errorf("Parse(%.60q):\n got position %d: %s\nwant position %d: %s", tc.in, se.Pos, se.Msg, tc.pos, tc.msg)
			}
		case !tc.syntax && errors.As(err, &te):
			if te.Pos != tc.pos || te.Msg != tc.msg {
				t.Errorf("Parse(%.60q):\n got position %d: %s\nwant position %d: %s", tc.in, te.Pos, te.Msg, tc.pos, tc.msg)
			}
		default:
			t.Errorf("Parse(%.60q): %T %v, want syntax=%v", tc.in, err, err, tc.syntax)
		}
	}
}

func TestErrorText(t *testing.T) {
	_, err := Parse(`and(eq(name, "x") eq(name, "y"))`)
	if got, want := err.Error(), `filter: position 19: expected "," or ")" after argument, found 'e'`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got := (&Error{Msg: "x"}).Error(); got != "filter: x" {
		t.Errorf("got %s", got)
	}
}
