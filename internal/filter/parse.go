package filter

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Parse reads a filter. Empty or blank source gives a nil Expr (match all).
// Errors are *SyntaxError for malformed source and *Error for filters that
// are well formed but mean nothing; both carry the position.
func Parse(src string) (Expr, error) {
	if len(src) > MaxLength {
		return nil, &SyntaxError{Pos: 1, Msg: fmt.Sprintf("filter is %d bytes long; the limit is %d", len(src), MaxLength)}
	}
	if !utf8.ValidString(src) {
		pos := 1
		for i, r := range src {
			if r == utf8.RuneError {
				if _, n := utf8.DecodeRuneInString(src[i:]); n == 1 {
					break
				}
			}
			pos++
		}
		return nil, &SyntaxError{Pos: pos, Msg: "invalid UTF-8"}
	}
	p := &parser{src: []rune(src)}
	p.space()
	if p.eof() {
		return nil, nil
	}
	e, err := p.call()
	if err != nil {
		return nil, err
	}
	p.space()
	if !p.eof() {
		return nil, p.syntax(p.i, "unexpected %s after the end of the filter", p.found())
	}
	return e, nil
}

type parser struct {
	src   []rune
	i     int
	depth int
}

func (p *parser) eof() bool { return p.i >= len(p.src) }

func (p *parser) peek() rune {
	if p.eof() {
		return 0
	}
	return p.src[p.i]
}

func (p *parser) space() {
	for !p.eof() {
		switch p.src[p.i] {
		case ' ', '\t', '\n', '\r', '\f', '\v':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) eat(r rune) bool {
	if !p.eof() && p.src[p.i] == r {
		p.i++
		return true
	}
	return false
}

// found describes the token at the cursor for error messages.
func (p *parser) found() string {
	if p.eof() {
		return "end of filter"
	}
	return strconv.QuoteRune(p.src[p.i])
}

func (p *parser) syntax(at int, format string, a ...any) error {
	return &SyntaxError{Pos: at + 1, Msg: fmt.Sprintf(format, a...)}
}

func isIdentStart(r rune) bool {
	return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
}

func isIdentPart(r rune) bool { return isIdentStart(r) || r >= '0' && r <= '9' }

func (p *parser) ident() string {
	start := p.i
	if p.eof() || !isIdentStart(p.src[p.i]) {
		return ""
	}
	for !p.eof() && isIdentPart(p.src[p.i]) {
		p.i++
	}
	return string(p.src[start:p.i])
}

// call parses one function call: a logical operator or a comparison.
func (p *parser) call() (Expr, error) {
	start := p.i
	name := p.ident()
	if name == "" {
		return nil, p.syntax(p.i, "expected a condition like eq(name, \"x\"), found %s", p.found())
	}
	logical := name == "and" || name == "or" || name == "not"
	if !logical && !comparators[name] {
		return nil, p.syntax(start, "unknown function %q", name)
	}
	p.space()
	if !p.eat('(') {
		return nil, p.syntax(p.i, "expected \"(\" after %s, found %s", name, p.found())
	}
	p.space()
	if logical {
		return p.logical(name, start)
	}
	return p.comparison(name, start)
}

func (p *parser) logical(name string, start int) (Expr, error) {
	p.depth++
	if p.depth > MaxDepth {
		return nil, p.syntax(start, "filter nests and/or/not deeper than %d", MaxDepth)
	}
	defer func() { p.depth-- }()
	var args []Expr
	err := p.arguments(func() error {
		e, err := p.call()
		args = append(args, e)
		return err
	})
	if err != nil {
		return nil, err
	}
	close := p.i
	p.i++ // ')'
	switch {
	case len(args) == 0:
		return nil, &Error{Pos: close + 1, Msg: name + "() needs at least one condition"}
	case name == "not" && len(args) > 1:
		return nil, &Error{Pos: start + 1, Msg: fmt.Sprintf("not() takes one condition, got %d", len(args))}
	case name == "not":
		return &Not{Arg: args[0]}, nil
	case name == "and":
		return &And{Args: args}, nil
	}
	return &Or{Args: args}, nil
}

// arguments parses a comma-separated list up to, not including, its ")",
// calling one for each element.
func (p *parser) arguments(one func() error) error {
	if p.peek() == ')' {
		return nil
	}
	for {
		if err := one(); err != nil {
			return err
		}
		p.space()
		if p.eat(',') {
			p.space()
			continue
		}
		if p.peek() == ')' {
			return nil
		}
		return p.syntax(p.i, "expected \",\" or \")\" after argument, found %s", p.found())
	}
}

// arg is one argument of a comparison: a field name or a literal.
type arg struct {
	pos   int
	field string
	val   Value
	elems []int // positions of list elements
}

func (p *parser) comparison(op string, start int) (Expr, error) {
	var args []arg
	err := p.arguments(func() error {
		a, err := p.arg()
		args = append(args, a)
		return err
	})
	if err != nil {
		return nil, err
	}
	close := p.i
	p.i++ // ')'

	c := &Cmp{Op: op}
	var fieldArg, valueArg *arg
	switch {
	case op == "search" && len(args) == 1 && args[0].field == "":
		valueArg = &args[0]
	case op == "exists":
		if len(args) != 1 {
			return nil, p.arity(op, "one argument: a field", args, close, 1)
		}
		fieldArg = &args[0]
	default:
		if len(args) != 2 {
			what := "two arguments: a field and a value"
			if op == "search" {
				what = "a string, or a field and a string"
			}
			return nil, p.arity(op, what, args, close, 2)
		}
		fieldArg, valueArg = &args[0], &args[1]
	}
	if fieldArg != nil {
		if fieldArg.field == "" {
			return nil, &Error{Pos: fieldArg.pos + 1, Msg: fmt.Sprintf("expected a field name as the first argument of %s, found %s", op, fieldArg.val.Kind)}
		}
		c.Field = fieldArg.field
	}
	if valueArg != nil {
		if valueArg.field != "" {
			return nil, &Error{Pos: valueArg.pos + 1, Msg: fmt.Sprintf("expected a value, found %s (quote strings: \"%s\")", valueArg.field, valueArg.field)}
		}
		c.Value = valueArg.val
	}
	if bad := check(c); bad != nil {
		pos := start
		switch bad.at {
		case atField:
			pos = fieldArg.pos
		case atValue:
			pos = valueArg.pos
			if bad.elem >= 0 {
				pos = valueArg.elems[bad.elem]
			}
		}
		return nil, &Error{Pos: pos + 1, Msg: bad.msg}
	}
	return c, nil
}

// arity reports a comparison with the wrong number of arguments, at the
// first argument too many or else at the closing parenthesis.
func (p *parser) arity(op, what string, args []arg, close, max int) error {
	pos := close
	if len(args) > max {
		pos = args[max].pos
	}
	return &Error{Pos: pos + 1, Msg: fmt.Sprintf("%s takes %s, got %d argument%s", op, what, len(args), plural(len(args)))}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// arg parses a field name or a literal.
func (p *parser) arg() (arg, error) {
	a := arg{pos: p.i}
	if isIdentStart(p.peek()) {
		name := p.ident()
		switch name {
		case "true", "false":
			a.val = Value{Kind: Bool, Bool: name == "true"}
		case "null":
			a.val = Value{Kind: Null}
		default:
			a.field = name
		}
		return a, nil
	}
	if p.peek() == '[' {
		p.i++
		p.space()
		a.val = Value{Kind: List, List: []Value{}}
		if p.eat(']') {
			return a, nil
		}
		for {
			a.elems = append(a.elems, p.i)
			if p.peek() == '[' {
				return a, p.syntax(p.i, "lists cannot be nested")
			}
			v, err := p.scalar()
			if err != nil {
				return a, err
			}
			a.val.List = append(a.val.List, v)
			p.space()
			if p.eat(',') {
				p.space()
				continue
			}
			if p.eat(']') {
				return a, nil
			}
			return a, p.syntax(p.i, "expected \",\" or \"]\" after list element, found %s", p.found())
		}
	}
	v, err := p.scalar()
	a.val = v
	return a, err
}

// scalar parses a string, number, true, false or null.
func (p *parser) scalar() (Value, error) {
	r := p.peek()
	switch {
	case r == '"' || r == '\'':
		s, err := p.str()
		return Value{Kind: String, Str: s}, err
	case r == '-' || r >= '0' && r <= '9':
		return p.number()
	case isIdentStart(r):
		start := p.i
		switch name := p.ident(); name {
		case "true", "false":
			return Value{Kind: Bool, Bool: name == "true"}, nil
		case "null":
			return Value{Kind: Null}, nil
		default:
			return Value{}, p.syntax(start, "expected a value, found %s (quote strings: \"%s\")", name, name)
		}
	}
	return Value{}, p.syntax(p.i, "expected a value, found %s", p.found())
}

func (p *parser) str() (string, error) {
	start := p.i
	q := p.src[p.i]
	p.i++
	var b strings.Builder
	for {
		if p.eof() {
			return "", p.syntax(start, "unterminated string")
		}
		r := p.src[p.i]
		p.i++
		switch r {
		case q:
			return b.String(), nil
		case '\\':
			if p.eof() {
				return "", p.syntax(start, "unterminated string")
			}
			esc := p.src[p.i]
			p.i++
			switch esc {
			case '"', '\'', '\\', '/':
				b.WriteRune(esc)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				r, err := p.unicodeEscape()
				if err != nil {
					return "", err
				}
				b.WriteRune(r)
			default:
				return "", p.syntax(p.i-2, "invalid escape \\%c in string", esc)
			}
		default:
			b.WriteRune(r)
		}
	}
}

// unicodeEscape reads the XXXX of \uXXXX (the cursor is after the u), and a
// second \uXXXX when the first is a high surrogate, as JSON spells runes
// outside the BMP.
func (p *parser) unicodeEscape() (rune, error) {
	at := p.i - 2
	hex4 := func() (rune, bool) {
		if p.i+4 > len(p.src) {
			return 0, false
		}
		n, err := strconv.ParseUint(string(p.src[p.i:p.i+4]), 16, 32)
		if err != nil {
			return 0, false
		}
		p.i += 4
		return rune(n), true
	}
	r, ok := hex4()
	if !ok {
		return 0, p.syntax(at, "invalid \\u escape: want four hex digits")
	}
	if utf16.IsSurrogate(r) {
		if r < 0xdc00 && p.i+1 < len(p.src) && p.src[p.i] == '\\' && p.src[p.i+1] == 'u' {
			p.i += 2
			if r2, ok := hex4(); ok {
				if pair := utf16.DecodeRune(r, r2); pair != utf8.RuneError {
					return pair, nil
				}
			}
		}
		return 0, p.syntax(at, "invalid \\u escape: unpaired surrogate")
	}
	return r, nil
}

func (p *parser) number() (Value, error) {
	start := p.i
	digits := func() int {
		n := 0
		for !p.eof() && p.src[p.i] >= '0' && p.src[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	p.eat('-')
	if digits() == 0 {
		return Value{}, p.syntax(p.i, "expected a digit, found %s", p.found())
	}
	isFloat := false
	if p.eat('.') {
		isFloat = true
		if digits() == 0 {
			return Value{}, p.syntax(p.i, "expected a digit after \".\", found %s", p.found())
		}
	}
	if p.peek() == 'e' || p.peek() == 'E' {
		isFloat = true
		p.i++
		if !p.eat('+') {
			p.eat('-')
		}
		if digits() == 0 {
			return Value{}, p.syntax(p.i, "expected a digit in the exponent, found %s", p.found())
		}
	}
	if isIdentPart(p.peek()) || p.peek() == '.' {
		return Value{}, p.syntax(p.i, "unexpected %s in number", p.found())
	}
	text := string(p.src[start:p.i])
	if !isFloat {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return Value{Kind: Int, Int: n}, nil
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) {
		return Value{}, p.syntax(start, "number %s is out of range", text)
	}
	return Value{Kind: Float, Float: f}, nil
}
