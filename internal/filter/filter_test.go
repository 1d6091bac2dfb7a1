package filter

import (
	"math"
	"testing"
)

func TestValueString(t *testing.T) {
	cases := []struct {
		v    Value
		want string
	}{
		{Value{Kind: String, Str: "a\"b\\c\x00\x7f\n"}, `"a\"b\\c\u0000\u007f\n"`},
		{Value{Kind: Int, Int: math.MinInt64}, "-9223372036854775808"},
		{Value{Kind: Float, Float: 3}, "3.0"},
		{Value{Kind: Float, Float: math.Copysign(0, -1)}, "-0.0"},
		{Value{Kind: Float, Float: 5e-324}, "5e-324"},
		{Value{Kind: Bool, Bool: false}, "false"},
		{Value{Kind: Null}, "null"},
		{Value{Kind: List, List: []Value{{Kind: String, Str: "a"}, {Kind: Int, Int: 1}}}, `["a", 1]`},
		{Value{}, ""},
	}
	for _, tc := range cases {
		if got := tc.v.String(); got != tc.want {
			t.Errorf("%#v: got %s, want %s", tc.v, got, tc.want)
		}
	}
}

// Exprs built in Go print as source that parses back to them.
func TestExprString(t *testing.T) {
	e := &Or{Args: []Expr{
		&Not{Arg: &Cmp{Op: "exists", Field: "error"}},
		&Cmp{Op: "search", Value: Value{Kind: String, Str: "x"}},
		&And{Args: []Expr{&Cmp{Op: "gt", Field: "total_cost", Value: Value{Kind: Float, Float: 1e300}}}},
	}}
	want := `or(not(exists(error)), search("x"), and(gt(total_cost, 1e+300)))`
	if got := e.String(); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	back, err := Parse(want)
	if err != nil || back.String() != want {
		t.Errorf("re-parse: %v, %v", back, err)
	}
}
