package filter

import (
	"encoding/json"
	"fmt"
	"strings"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/google/uuid"
)

// Scope is a subquery returning run ids (one UUID column), with the args for
// its placeholders. Feedback conditions only look at feedback on those runs;
// an empty SQL means all feedback.
type Scope struct {
	SQL  string
	Args []any
}

// Compile turns e into a ClickHouse boolean expression over the columns of a
// runs row, with ? placeholders and their args in order. Field names map to
// SQL through a fixed table and every value is an arg, so nothing the filter's
// author wrote reaches the SQL text. A nil e compiles to "1".
//
// Feedback conditions become id IN (SELECT run_id FROM (<latest feedback
// rows of runs in scope>) WHERE ...), with scope.Args spliced in at each use.
func Compile(e Expr, scope Scope) (string, []any, error) {
	f, err := compile(e, &compiler{scope: scope})
	return f.SQL, f.Args, err
}

// compile compiles a checked e with c; a nil e compiles to "1".
func compile(e Expr, c *compiler) (Compiled, error) {
	if e == nil {
		return Compiled{SQL: "1"}, nil
	}
	if err := validate(e, 1); err != nil {
		return Compiled{}, err
	}
	f := c.expr(e)
	if n := boundSize(f); n > MaxSQL {
		return Compiled{}, &Error{Msg: fmt.Sprintf("filter compiles to about %d bytes of SQL; the limit is %d (ClickHouse refuses long queries)", n, MaxSQL)}
	}
	return Compiled{SQL: f.sql, Args: f.args, Documents: c.docs, Feedback: c.usedFeedback}, nil
}

// MaxSQL bounds the compiled SQL with its values bound, well under
// ClickHouse's default max_query_size (256 KiB) and, at a few bytes per AST
// element, under max_ast_elements (50,000). Source within MaxLength can
// exceed it: search() repeats its text, feedback conditions their subquery.
const MaxSQL = 128 << 10

// Target says what the rows a compiled expression runs on hold, for
// CompileTarget.
type Target struct {
	// Feedback is a subquery of the current feedback rows that feedback
	// conditions look at, with columns id, run_id, key, score and value
	// (one row per feedback id), and its args.
	Feedback Scope
	// Documents says the rows hold inputs and outputs. Without them,
	// search() cannot look in the documents, and the expression compiles to
	// a necessary condition of the filter: each test of a document counts as
	// true where it is not negated and as false where it is, so every run the
	// filter matches passes, and the filter, compiled with documents, decides
	// on the few that do.
	Documents bool
}

// Compiled is a filter compiled by CompileTarget.
type Compiled struct {
	SQL  string
	Args []any
	// Documents: the filter reads inputs or outputs. Compiled without
	// them (Target.Documents false), SQL is only a necessary condition.
	Documents bool
	// Feedback: the filter has feedback conditions.
	Feedback bool
}

// CompileTarget is Compile for rows that t describes.
func CompileTarget(e Expr, t Target) (Compiled, error) {
	return compile(e, &compiler{feedback: &t.Feedback, noDocs: !t.Documents})
}

// boundSize is about how long sql is once the driver has bound its args.
func boundSize(f frag) int {
	n := len(f.sql)
	var size func(a any) int
	size = func(a any) int {
		switch a := a.(type) {
		case string:
			return 2 + len(a) + strings.Count(a, "\\") + strings.Count(a, "'") + strings.Count(a, "\x00")
		case []string:
			m := 2
			for _, s := range a {
				m += 2 + size(s)
			}
			return m
		case ch.GroupSet:
			m := 2
			for _, v := range a.Value {
				m += 2 + size(v)
			}
			return m
		}
		return len(fmt.Sprint(a)) + 20 // numbers; floats render as cast(x, 'Float64')
	}
	for _, a := range f.args {
		n += size(a)
	}
	return n
}

// validate checks an Expr built in Go as Parse checks source.
func validate(e Expr, depth int) error {
	switch e := e.(type) {
	case *And, *Or:
		if depth > MaxDepth {
			return &Error{Msg: fmt.Sprintf("filter nests and/or/not deeper than %d", MaxDepth)}
		}
		args, name := logicalArgs(e)
		if len(args) == 0 {
			return &Error{Msg: name + "() needs at least one condition"}
		}
		for _, a := range args {
			if err := validate(a, depth+1); err != nil {
				return err
			}
		}
		return nil
	case *Not:
		if depth > MaxDepth {
			return &Error{Msg: fmt.Sprintf("filter nests and/or/not deeper than %d", MaxDepth)}
		}
		if e == nil || e.Arg == nil {
			return &Error{Msg: "not() needs a condition"}
		}
		return validate(e.Arg, depth+1)
	case *Cmp:
		if e == nil {
			return &Error{Msg: "nil condition"}
		}
		if bad := check(e); bad != nil {
			return &Error{Msg: bad.msg}
		}
		return nil
	}
	return &Error{Msg: fmt.Sprintf("unknown condition type %T", e)}
}

func logicalArgs(e Expr) ([]Expr, string) {
	switch e := e.(type) {
	case *And:
		if e != nil {
			return e.Args, "and"
		}
		return nil, "and"
	case *Or:
		if e != nil {
			return e.Args, "or"
		}
		return nil, "or"
	}
	return nil, ""
}

// frag is compiled SQL and the args of its placeholders, in order.
// grouped says it needs no parentheses to be negated or combined.
type frag struct {
	sql     string
	args    []any
	grouped bool
}

func atom(sql string, args ...any) frag { return frag{sql: sql, args: args} }

// join combines fragments with AND or OR, in parentheses when there are several.
func join(op string, fs []frag) frag {
	if len(fs) == 1 {
		return fs[0]
	}
	parts := make([]string, len(fs))
	var args []any
	for i, f := range fs {
		parts[i] = f.sql
		args = append(args, f.args...)
	}
	return frag{sql: "(" + strings.Join(parts, " "+op+" ") + ")", args: args, grouped: true}
}

// conjunction is fs joined with AND, without parentheses: the body of a
// lambda or of a WHERE.
func conjunction(fs []frag) frag {
	parts := make([]string, len(fs))
	var args []any
	for i, f := range fs {
		parts[i] = f.sql
		args = append(args, f.args...)
	}
	return frag{sql: strings.Join(parts, " AND "), args: args}
}

func not(f frag) frag {
	if f.grouped {
		return frag{sql: "NOT " + f.sql, args: f.args}
	}
	return frag{sql: "NOT (" + f.sql + ")", args: f.args}
}

type compiler struct {
	scope Scope
	// feedback, when set, is the source of current feedback rows itself.
	feedback *Scope
	// noDocs: inputs and outputs are not in the rows (Target.Documents).
	noDocs bool
	// negated: the expression being compiled is under an odd number of not().
	negated bool
	// docs: some condition reads inputs or outputs.
	docs bool
	// usedFeedback: some condition reads feedback.
	usedFeedback bool
}

func (c *compiler) expr(e Expr) frag {
	switch e := e.(type) {
	case *And:
		return c.and(e.Args)
	case *Or:
		fs := make([]frag, len(e.Args))
		for i, a := range e.Args {
			fs[i] = c.expr(a)
		}
		return join("OR", fs)
	case *Not:
		c.negated = !c.negated
		f := not(c.expr(e.Arg))
		c.negated = !c.negated
		return f
	case *Cmp:
		return c.and([]Expr{e})
	}
	panic("unreachable: validated")
}

// and compiles the arguments of one and(). The pair and feedback conditions
// among them are grouped by family, so that they describe one pair or one
// feedback row; each group is placed where its first member was.
func (c *compiler) and(args []Expr) frag {
	slots := make([]frag, len(args))
	used := make([]bool, len(args))
	type group struct {
		first   int
		members []*Cmp
	}
	var order []string
	groups := map[string]*group{}
	for i, a := range args {
		cmp, ok := a.(*Cmp)
		if !ok {
			slots[i], used[i] = c.expr(a), true
			continue
		}
		fam := fields[cmp.Field].family
		if fam == "" {
			slots[i], used[i] = c.scalar(cmp), true
			continue
		}
		g := groups[fam]
		if g == nil {
			g = &group{first: -1}
			groups[fam] = g
			order = append(order, fam)
		}
		g.members = append(g.members, cmp)
	}
	for _, fam := range order {
		g := groups[fam]
		// A group that selects by key takes the neq conditions on values
		// (and scores) as narrowing its pair or row; otherwise, and always
		// for neq on a key, neq means no pair or row has that value.
		selects := false
		for _, m := range g.members {
			k := fields[m.Field].kind
			if m.Op != "neq" && (k == kindPairKey || k == kindFeedbackKey) {
				selects = true
			}
		}
		var members []*Cmp
		for _, m := range g.members {
			i := indexOf(args, m)
			k := fields[m.Field].kind
			if m.Op == "neq" && (!selects || k == kindPairKey || k == kindFeedbackKey) {
				eq := *m
				eq.Op = "eq"
				slots[i], used[i] = not(c.group(fam, []*Cmp{&eq})), true
				continue
			}
			if g.first < 0 {
				g.first = i
			}
			members = append(members, m)
		}
		if len(members) > 0 {
			slots[g.first], used[g.first] = c.group(fam, members), true
		}
	}
	var fs []frag
	for i := range slots {
		if used[i] {
			fs = append(fs, slots[i])
		}
	}
	return join("AND", fs)
}

func indexOf(args []Expr, m *Cmp) int {
	for i, a := range args {
		if a == Expr(m) {
			return i
		}
	}
	panic("unreachable: member of args")
}

// group compiles conditions that describe one pair or feedback row.
func (c *compiler) group(fam string, cs []*Cmp) frag {
	switch fam {
	case "feedback":
		var preds []frag
		for _, m := range cs {
			preds = append(preds, c.pred(m, fields[m.Field].col))
		}
		where := conjunction(preds)
		sql, args := c.latestFeedback()
		return frag{
			sql:  "id IN (SELECT run_id FROM (" + sql + ") WHERE " + where.sql + ")",
			args: append(args, where.args...),
		}
	}
	keys, values := fam+"_keys", fam+"_values"
	// One plain eq reads best as has().
	if len(cs) == 1 && cs[0].Op == "eq" && cs[0].Value.Kind == String {
		col := keys
		if fields[cs[0].Field].kind == kindPairValue {
			col = values
		}
		return atom("has("+col+", ?)", cs[0].Value.Str)
	}
	var preds []frag
	usesKey, usesValue := false, false
	for _, m := range cs {
		if fields[m.Field].kind == kindPairKey {
			usesKey = true
			preds = append(preds, c.pred(m, "k"))
		} else {
			usesValue = true
			preds = append(preds, c.pred(m, "v"))
		}
	}
	body := conjunction(preds)
	switch {
	case usesKey && usesValue:
		return frag{sql: "arrayExists((k, v) -> " + body.sql + ", " + keys + ", " + values + ")", args: body.args}
	case usesKey:
		return frag{sql: "arrayExists(k -> " + body.sql + ", " + keys + ")", args: body.args}
	}
	return frag{sql: "arrayExists(v -> " + body.sql + ", " + values + ")", args: body.args}
}

// latestFeedback is the current version of each feedback row on runs in scope.
func (c *compiler) latestFeedback() (string, []any) {
	c.usedFeedback = true
	if c.feedback != nil {
		return "SELECT id, run_id, key, score, value FROM (" + c.feedback.SQL + ")", append([]any(nil), c.feedback.Args...)
	}
	where := ""
	if c.scope.SQL != "" {
		where = " WHERE run_id IN (" + c.scope.SQL + ")"
	}
	return "SELECT id, run_id, key, score, value FROM feedback" + where +
		" ORDER BY run_id, id, modified_at DESC, inserted_at DESC LIMIT 1 BY run_id, id", append([]any(nil), c.scope.Args...)
}

var cmpSQL = map[string]string{"eq": "=", "neq": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}

// pred compiles a pair or feedback condition over col: the lambda's k or v,
// or a column of the latest feedback rows.
func (c *compiler) pred(m *Cmp, col string) frag {
	f := fields[m.Field]
	v := m.Value
	if col == "v" || col == "k" {
		f.nullable = false
	}
	switch m.Op {
	case "exists":
		if f.kind == kindFeedbackKey {
			return atom("1")
		}
		return atom("isNotNull(" + col + ")")
	case "search":
		return atom("positionCaseInsensitiveUTF8("+orEmpty(col, f.nullable)+", ?) > 0", v.Str)
	case "in":
		if col == "k" || col == "v" {
			return atom("has(?, "+col+")", strs(v.List))
		}
		var set []any
		for _, e := range v.List {
			if f.kind == kindFeedbackValue {
				set = append(set, jsonString(e.Str))
			}
			set = append(set, e.Str)
		}
		return atom(col+" IN ?", ch.GroupSet{Value: set})
	}
	op := cmpSQL[m.Op]
	switch {
	case v.Kind == Null && f.kind == kindPairValue:
		return atom(col+" "+op+" ?", "null")
	case v.Kind == Null && f.kind == kindFeedbackValue:
		eq := atom("(isNull("+col+") OR "+col+" = ?)", "null")
		if m.Op == "neq" {
			return not(eq)
		}
		return eq
	case v.Kind == Null:
		if m.Op == "eq" {
			return atom("isNull(" + col + ")")
		}
		return atom("isNotNull(" + col + ")")
	case v.Kind == Bool:
		return compare(col+" "+op+" ?", boolText(v.Bool), f.nullable, m.Op)
	case v.Kind == Int && f.kind != kindFeedbackScore:
		return compare("toFloat64OrNull("+col+") "+op+" ?", v.Int, true, m.Op)
	case v.Kind == Float && f.kind != kindFeedbackScore:
		return compare("toFloat64OrNull("+col+") "+op+" ?", v.Float, true, m.Op)
	case v.Kind == String && f.kind == kindFeedbackValue && (m.Op == "eq" || m.Op == "neq"):
		in := "IN"
		if m.Op == "neq" {
			in = "NOT IN"
		}
		return compare(col+" "+in+" ?", ch.GroupSet{Value: []any{jsonString(v.Str), v.Str}}, f.nullable, m.Op)
	}
	return compare(col+" "+op+" ?", number(v), f.nullable, m.Op)
}

// compare wraps a comparison of a nullable column so that it is never NULL:
// 18.16 keeps NULL through AND and NOT, so a missing value would make a whole
// filter NULL. A missing value is unequal to everything and in no order.
func compare(sql string, arg any, nullable bool, op string) frag {
	if !nullable {
		return atom(sql, arg)
	}
	if op == "neq" {
		return atom("ifNull("+sql+", 1)", arg)
	}
	return atom("ifNull("+sql+", 0)", arg)
}

func orEmpty(col string, nullable bool) string {
	if nullable {
		return "ifNull(" + col + ", '')"
	}
	return col
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// number is the arg of a literal: int64, float64 or string.
func number(v Value) any {
	switch v.Kind {
	case Int:
		return v.Int
	case Float:
		return v.Float
	}
	return v.Str
}

func strs(vs []Value) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Str
	}
	return out
}

// jsonString is s as feedback values store it: the JSON that was sent.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// scalar compiles a condition on a column of the run itself.
func (c *compiler) scalar(m *Cmp) frag {
	v := m.Value
	if m.Field == "" { // search("text")
		c.docs = true
		cols := []string{"name", "ifNull(error, '')", "ifNull(inputs, '')", "ifNull(outputs, '')"}
		if c.noDocs {
			if !c.negated {
				return atom("1") // the documents might hold the text
			}
			cols = cols[:2] // negated, they are taken not to
		}
		var fs []frag
		for _, col := range cols {
			fs = append(fs, atom("positionCaseInsensitiveUTF8("+col+", ?) > 0", v.Str))
		}
		return join("OR", fs)
	}
	f := fields[m.Field]
	col := f.col
	switch m.Op {
	case "exists":
		switch f.kind {
		case kindTags:
			return atom("notEmpty(tags)")
		case kindLatency:
			return atom("isNotNull(end_time)")
		}
		return atom("isNotNull(" + col + ")")
	case "has":
		return atom("has(tags, ?)", v.Str)
	case "search":
		if f.kind == kindTags {
			return atom("arrayExists(t -> positionCaseInsensitiveUTF8(t, ?) > 0, tags)", v.Str)
		}
		return atom("positionCaseInsensitiveUTF8("+orEmpty(col, f.nullable)+", ?) > 0", v.Str)
	case "in":
		if f.kind == kindTags {
			return atom("hasAny(tags, ?)", strs(v.List))
		}
		set := make([]any, len(v.List))
		for i, e := range v.List {
			set[i] = e.Str
			if f.kind == kindUUID {
				set[i] = uuid.MustParse(e.Str).String()
			}
		}
		return atom(col+" IN ?", ch.GroupSet{Value: set})
	}
	op := cmpSQL[m.Op]
	if v.Kind == Null {
		nullCol := col
		if f.kind == kindLatency {
			nullCol = "end_time"
		}
		if m.Op == "eq" {
			return atom("isNull(" + nullCol + ")")
		}
		return atom("isNotNull(" + nullCol + ")")
	}
	var arg any
	switch f.kind {
	case kindUUID:
		arg = uuid.MustParse(v.Str).String()
	case kindTime:
		arg = timeMicros(v.Str)
	case kindLatency:
		arg, _ = latencyMicros(v)
	case kindError:
		if v.Kind == Bool {
			// LangSmith's eq(error, true): the run has an error.
			if (m.Op == "eq") == v.Bool {
				return atom("isNotNull(error)")
			}
			return atom("isNull(error)")
		}
		arg = v.Str
	case kindBool:
		arg = uint8(0)
		if v.Bool {
			arg = uint8(1)
		}
	default:
		arg = number(v)
	}
	return compare(col+" "+op+" ?", arg, f.nullable, m.Op)
}
