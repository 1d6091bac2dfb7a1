// Package filter implements LangSmith's trace filter language (the `filter`
// argument of /runs/query and of automation rules) and compiles it to a
// parameterised ClickHouse 18.16 boolean expression over a runs row.
//
// # Language
//
// A filter is one call; the empty filter matches every run.
//
//	and(e, ...)  or(e, ...)  not(e)
//	eq(field, v)  neq(field, v)  gt(field, v)  gte(field, v)  lt(field, v)  lte(field, v)
//	has(tags, "x")  in(field, ["a", "b"])  exists(field)
//	search("text")  search(field, "text")
//
// Values are strings ("double" or 'single' quoted, with JSON escapes),
// numbers (42, -1.5, 2e3), true, false, null, and lists of strings (["a",
// "b"], only as the value of in). Functions and fields are lower case;
// whitespace may appear between any two tokens. Source is limited to
// MaxLength bytes, nesting of and/or/not to MaxDepth, and the compiled SQL
// to MaxSQL bytes.
//
// # Fields
//
//	id, trace_id                   eq neq in                  UUID strings
//	name, run_type, status         eq neq in search           strings
//	start_time, end_time           eq neq gt gte lt lte       RFC 3339 strings; naive times are UTC;
//	                                                          end_time also null and exists
//	latency                        eq neq gt gte lt lte exists "5s", "1.5s", "200ms" or seconds; null
//	total_tokens, prompt_tokens,   eq neq gt gte lt lte       numbers
//	completion_tokens
//	total_cost                     eq neq gt gte lt lte exists numbers, null
//	error                          eq neq search exists       true/false (has an error), null, or the text
//	is_root                        eq neq                     true/false
//	tags                           has in search exists       strings
//	metadata_key, input_key,       eq neq in search           strings
//	output_key, feedback_key       (feedback_key also exists)
//	metadata_value, input_value,   eq neq gt gte lt lte in    strings, numbers (compared as numbers),
//	output_value, feedback_value   search                     true/false/null; feedback_value also exists
//	feedback_score                 eq neq gt gte lt lte exists numbers, null
//
// search is a case-insensitive substring match. search("text") looks in the
// run's name, error, inputs and outputs (the JSON as sent).
//
// # Pairs and feedback rows
//
// A run's metadata, inputs and outputs are key/value pairs (see Flatten).
// Inside one and(...), the metadata_key and metadata_value conditions that are
// its direct arguments describe the same pair, as in LangSmith:
// and(eq(metadata_key, "env"), eq(metadata_value, "prod")) needs a pair
// env=prod, not just some key env and some value prod. The same holds for
// input_* and output_*, and for feedback_key, feedback_score and
// feedback_value, which describe one feedback row (the latest version of it).
// A condition on its own, or in or(...), needs some pair or row to match it.
//
// neq is the exception, again as in LangSmith: neq(metadata_key, "k") means
// no pair has key k, and neq on a value means no pair has that value, unless
// the same and() also selects pairs by key, in which case it narrows those
// pairs: and(eq(metadata_key, "env"), neq(metadata_value, "prod")) needs an
// env pair whose value is not prod.
//
// Every condition is two-valued: a missing value (null end_time, no error,
// no cost) makes gt and friends false and neq true, and not(e) matches exactly
// the runs e does not.
package filter

import (
	"fmt"
	"strconv"
	"strings"
)

// Limits that keep parsing and compiling bounded whatever the input.
const (
	MaxLength = 64 << 10 // bytes of source
	MaxDepth  = 64       // nesting of and/or/not
)

// Expr is a parsed filter. A nil Expr matches every run.
type Expr interface {
	// String prints canonical source that parses to an equal Expr.
	String() string
}

// And matches runs that match every argument.
type And struct{ Args []Expr }

// Or matches runs that match some argument.
type Or struct{ Args []Expr }

// Not matches runs that Arg does not match.
type Not struct{ Arg Expr }

// Cmp is one comparison: Op(Field, Value), exists(Field), or search(Value)
// with an empty Field.
type Cmp struct {
	Op    string
	Field string
	Value Value
}

// Kind is the type of a literal value.
type Kind int

// Literal kinds. NoValue is the Value of exists(field).
const (
	NoValue Kind = iota
	String
	Int
	Float
	Bool
	Null
	List
)

func (k Kind) String() string {
	return [...]string{"nothing", "a string", "an integer", "a number", "a boolean", "null", "a list"}[k]
}

// Value is a literal.
type Value struct {
	Kind  Kind
	Str   string
	Int   int64
	Float float64
	Bool  bool
	List  []Value
}

func (e *And) String() string { return call("and", e.Args) }
func (e *Or) String() string  { return call("or", e.Args) }
func (e *Not) String() string { return "not(" + e.Arg.String() + ")" }

func call(name string, args []Expr) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = a.String()
	}
	return name + "(" + strings.Join(parts, ", ") + ")"
}

func (c *Cmp) String() string {
	switch {
	case c.Field == "":
		return c.Op + "(" + c.Value.String() + ")"
	case c.Value.Kind == NoValue:
		return c.Op + "(" + c.Field + ")"
	}
	return c.Op + "(" + c.Field + ", " + c.Value.String() + ")"
}

func (v Value) String() string {
	switch v.Kind {
	case String:
		return quote(v.Str)
	case Int:
		return strconv.FormatInt(v.Int, 10)
	case Float:
		s := strconv.FormatFloat(v.Float, 'g', -1, 64)
		// A float must print as a float, or it would re-parse as an Int.
		if !strings.ContainsAny(s, ".e") {
			s += ".0"
		}
		return s
	case Bool:
		return strconv.FormatBool(v.Bool)
	case Null:
		return "null"
	case List:
		parts := make([]string, len(v.List))
		for i, e := range v.List {
			parts[i] = e.String()
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return ""
}

// quote writes s as a double-quoted literal with the escapes the lexer reads.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// SyntaxError is source that is not a filter. Pos is the 1-based character
// offset of the offending token.
type SyntaxError struct {
	Pos int
	Msg string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("filter: position %d: %s", e.Pos, e.Msg) }

// Error is a well-formed filter that means nothing: an unknown field, a
// comparator the field does not take, a value of the wrong type. Pos is the
// 1-based character offset of the offending token, 0 when the Expr was built
// in Go rather than parsed.
type Error struct {
	Pos int
	Msg string
}

func (e *Error) Error() string {
	if e.Pos == 0 {
		return "filter: " + e.Msg
	}
	return fmt.Sprintf("filter: position %d: %s", e.Pos, e.Msg)
}
