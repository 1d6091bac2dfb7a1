package filter

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"
)

type fieldKind int

const (
	kindUUID fieldKind = iota
	kindText
	kindTime
	kindLatency
	kindCount
	kindCost
	kindError
	kindBool
	kindTags
	kindPairKey
	kindPairValue
	kindFeedbackKey
	kindFeedbackScore
	kindFeedbackValue
)

// field is one filterable field. col is the SQL it reads: a column of the
// runs row, the key/value arrays of a pair family, or a column of the latest
// feedback rows. These strings are the only SQL text a filter can choose.
type field struct {
	kind     fieldKind
	col      string
	nullable bool
	family   string // "metadata", "input", "output" or "feedback": conditions that group in and()
}

var fields = map[string]field{
	"id":                {kind: kindUUID, col: "id"},
	"trace_id":          {kind: kindUUID, col: "trace_id"},
	"name":              {kind: kindText, col: "name"},
	"run_type":          {kind: kindText, col: "run_type"},
	"status":            {kind: kindText, col: "status"},
	"start_time":        {kind: kindTime, col: "start_time"},
	"end_time":          {kind: kindTime, col: "end_time", nullable: true},
	"latency":           {kind: kindLatency, col: "toInt64(end_time) - toInt64(start_time)", nullable: true},
	"total_tokens":      {kind: kindCount, col: "total_tokens"},
	"prompt_tokens":     {kind: kindCount, col: "prompt_tokens"},
	"completion_tokens": {kind: kindCount, col: "completion_tokens"},
	"total_cost":        {kind: kindCost, col: "total_cost", nullable: true},
	"error":             {kind: kindError, col: "error", nullable: true},
	"is_root":           {kind: kindBool, col: "is_root"},
	"tags":              {kind: kindTags, col: "tags"},
	"metadata_key":      {kind: kindPairKey, col: "metadata_keys", family: "metadata"},
	"metadata_value":    {kind: kindPairValue, col: "metadata_values", family: "metadata"},
	"input_key":         {kind: kindPairKey, col: "input_keys", family: "input"},
	"input_value":       {kind: kindPairValue, col: "input_values", family: "input"},
	"output_key":        {kind: kindPairKey, col: "output_keys", family: "output"},
	"output_value":      {kind: kindPairValue, col: "output_values", family: "output"},
	"feedback_key":      {kind: kindFeedbackKey, col: "key", family: "feedback"},
	"feedback_score":    {kind: kindFeedbackScore, col: "score", nullable: true, family: "feedback"},
	"feedback_value":    {kind: kindFeedbackValue, col: "value", nullable: true, family: "feedback"},
}

// ops lists the comparators each kind of field takes, in the order error
// messages name them.
var ops = map[fieldKind][]string{
	kindUUID:          {"eq", "neq", "in"},
	kindText:          {"eq", "neq", "in", "search"},
	kindTime:          {"eq", "neq", "gt", "gte", "lt", "lte"},
	kindLatency:       {"eq", "neq", "gt", "gte", "lt", "lte", "exists"},
	kindCount:         {"eq", "neq", "gt", "gte", "lt", "lte"},
	kindCost:          {"eq", "neq", "gt", "gte", "lt", "lte", "exists"},
	kindError:         {"eq", "neq", "search", "exists"},
	kindBool:          {"eq", "neq"},
	kindTags:          {"has", "in", "search", "exists"},
	kindPairKey:       {"eq", "neq", "in", "search"},
	kindPairValue:     {"eq", "neq", "gt", "gte", "lt", "lte", "in", "search"},
	kindFeedbackKey:   {"eq", "neq", "in", "search", "exists"},
	kindFeedbackScore: {"eq", "neq", "gt", "gte", "lt", "lte", "exists"},
	kindFeedbackValue: {"eq", "neq", "in", "search", "exists"},
}

// comparators are the functions that take a field.
var comparators = map[string]bool{
	"eq": true, "neq": true, "gt": true, "gte": true, "lt": true, "lte": true,
	"has": true, "in": true, "search": true, "exists": true,
}

func fieldOps(name string) []string {
	f := fields[name]
	if name == "end_time" {
		return append(ops[f.kind][:len(ops[f.kind]):len(ops[f.kind])], "exists")
	}
	return ops[f.kind]
}

func allows(name, op string) bool {
	for _, o := range fieldOps(name) {
		if o == op {
			return true
		}
	}
	return false
}

// checkError says what is wrong with a comparison, and where: which of the
// operator, field or value (elem >= 0 for an element of a list value).
type checkError struct {
	at   int // atOp, atField, atValue
	elem int
	msg  string
}

const (
	atOp = iota
	atField
	atValue
)

// check validates a comparison against the field table.
func check(c *Cmp) *checkError {
	bad := func(at int, format string, a ...any) *checkError {
		return &checkError{at: at, elem: -1, msg: fmt.Sprintf(format, a...)}
	}
	if !comparators[c.Op] {
		return bad(atOp, "unknown comparator %q", c.Op)
	}
	if c.Field == "" {
		if c.Op != "search" {
			return bad(atOp, "%s needs a field", c.Op)
		}
		if c.Value.Kind != String {
			return bad(atValue, "search needs a string, got %s", c.Value.Kind)
		}
		return nil
	}
	f, ok := fields[c.Field]
	if !ok {
		return bad(atField, "unknown field %q", c.Field)
	}
	if !allows(c.Field, c.Op) {
		return bad(atOp, "%s does not apply to %s, which takes %s", c.Op, c.Field, strings.Join(fieldOps(c.Field), ", "))
	}
	v := c.Value
	switch c.Op {
	case "exists":
		if v.Kind != NoValue {
			return bad(atValue, "exists takes only a field")
		}
		return nil
	case "in":
		if v.Kind != List {
			return bad(atValue, "in needs a list like [\"a\", \"b\"], got %s", v.Kind)
		}
		if len(v.List) == 0 {
			return bad(atValue, "in needs at least one value")
		}
		for i, e := range v.List {
			if e.Kind != String {
				return &checkError{at: atValue, elem: i, msg: fmt.Sprintf("in(%s, ...) needs strings, got %s", c.Field, e.Kind)}
			}
			if f.kind == kindUUID {
				if _, err := uuid.Parse(e.Str); err != nil {
					return &checkError{at: atValue, elem: i, msg: fmt.Sprintf("%s needs a UUID, got %q", c.Field, e.Str)}
				}
			}
		}
		return nil
	case "search", "has":
		if v.Kind != String {
			return bad(atValue, "%s(%s, ...) needs a string, got %s", c.Op, c.Field, v.Kind)
		}
		return nil
	}
	ordering := c.Op != "eq" && c.Op != "neq"
	if v.Kind == Null {
		if ordering || !f.nullable && f.kind != kindPairValue {
			return bad(atValue, "%s(%s, null) does not apply", c.Op, c.Field)
		}
		return nil
	}
	switch f.kind {
	case kindUUID:
		if v.Kind != String {
			return bad(atValue, "%s needs a UUID string, got %s", c.Field, v.Kind)
		}
		if _, err := uuid.Parse(v.Str); err != nil {
			return bad(atValue, "%s needs a UUID, got %q", c.Field, v.Str)
		}
	case kindText, kindPairKey, kindFeedbackKey:
		if v.Kind != String {
			return bad(atValue, "%s needs a string, got %s", c.Field, v.Kind)
		}
	case kindTime:
		if v.Kind != String {
			return bad(atValue, "%s needs a time string like \"2024-04-05T01:28:54Z\", got %s", c.Field, v.Kind)
		}
		if _, err := parseTime(v.Str); err != nil {
			return bad(atValue, "bad time %q: want RFC 3339 like \"2024-04-05T01:28:54.085646Z\" (no zone means UTC)", v.Str)
		}
	case kindLatency:
		if _, err := latencyMicros(v); err != nil {
			return bad(atValue, "%s", err.Error())
		}
	case kindCount, kindCost, kindFeedbackScore:
		if v.Kind != Int && v.Kind != Float {
			return bad(atValue, "%s needs a number, got %s", c.Field, v.Kind)
		}
	case kindError:
		if v.Kind != String && v.Kind != Bool {
			return bad(atValue, "error needs true, false, null or a string, got %s", v.Kind)
		}
	case kindBool:
		if v.Kind != Bool {
			return bad(atValue, "%s needs true or false, got %s", c.Field, v.Kind)
		}
	case kindPairValue, kindFeedbackValue:
		switch v.Kind {
		case String, Int, Float:
		case Bool:
			if ordering {
				return bad(atValue, "%s(%s, ...) needs a string or a number, got %s", c.Op, c.Field, v.Kind)
			}
		default:
			return bad(atValue, "%s needs a string, number, true, false or null, got %s", c.Field, v.Kind)
		}
	}
	return nil
}

// timeLayouts are the forms start_time and end_time values may take:
// RFC 3339 and LangSmith's own, with or without a zone (none means UTC).
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02",
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q", s)
}

// timeMicros is a time value as the µs since the epoch the columns hold.
func timeMicros(s string) int64 {
	t, _ := parseTime(s)
	return t.Unix()*1e6 + int64(t.Nanosecond()/1e3)
}

// latencyMicros reads a latency value: a duration string ("5s", "1.5s",
// "200ms") or a number of seconds. Numbers too large for int64 µs stay
// floats, so no value wraps around.
func latencyMicros(v Value) (any, error) {
	switch v.Kind {
	case String:
		d, err := time.ParseDuration(strings.TrimSpace(v.Str))
		if err != nil {
			return nil, fmt.Errorf("bad latency %q: want a duration like \"5s\", \"1.5s\" or \"200ms\", or a number of seconds", v.Str)
		}
		return d.Microseconds(), nil
	case Int:
		if v.Int > math.MaxInt64/1_000_000 || v.Int < math.MinInt64/1_000_000 {
			return float64(v.Int) * 1e6, nil
		}
		return v.Int * 1_000_000, nil
	case Float:
		us := v.Float * 1e6
		if math.Abs(us) < 1<<62 {
			return int64(math.Round(us)), nil
		}
		return us, nil
	}
	return nil, fmt.Errorf("latency needs a duration like \"5s\" or a number of seconds, got %s", v.Kind)
}
