package rules

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// expand substitutes environment variables into a rules file before YAML
// parses it, so a secret can sit anywhere a value can (a URL's query, a
// header, a signing secret) without being written into the file:
//
//   - ${NAME} (NAME is a letter or _, then letters, digits, _) is replaced by
//     lookup(NAME); an unset variable is an error naming it and its line.
//   - $${ is a literal ${, so $${NAME} leaves ${NAME} in the text.
//   - any other $ is itself.
//
// Substitution is textual and covers the whole file, comments included (write
// $${ to mention a variable in a comment). A value is inserted as is, so quote
// the YAML value if the variable may hold YAML syntax (": ", " #", a leading
// quote). A value holding a line break is refused: it would shift the line
// numbers of every later error and could add keys to the file.
//
// It returns the non-empty substituted values, which every error message is
// kept free of.
func expand(src []byte, lookup func(string) (string, bool)) ([]byte, []string, []error) {
	if !bytes.Contains(src, []byte("${")) {
		return src, nil, nil
	}
	var (
		out    = make([]byte, 0, len(src))
		values []string
		seen   = map[string]bool{}
		errs   []error
		line   = 1
	)
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\n':
			line++
		case c == '$' && bytes.HasPrefix(src[i:], []byte("$${")):
			out = append(out, '$', '{')
			i += 3
			continue
		case c == '$' && bytes.HasPrefix(src[i:], []byte("${")):
			end := bytes.IndexByte(src[i+2:], '}')
			var name string
			if end >= 0 {
				name = string(src[i+2 : i+2+end])
			}
			if end < 0 || !validName(name) {
				errs = append(errs, &FieldError{Line: line, Msg: "${ must be followed by a variable name (letters, digits, _) and }; write $${ for a literal ${"})
				out = append(out, c)
				i++
				continue
			}
			i += 2 + end + 1
			value, ok := "", false
			if lookup != nil {
				value, ok = lookup(name)
			}
			switch {
			case !ok:
				errs = append(errs, &FieldError{Line: line, Msg: fmt.Sprintf("environment variable %s is not set", name)})
			case strings.ContainsAny(value, "\r\n"):
				errs = append(errs, &FieldError{Line: line, Msg: fmt.Sprintf("environment variable %s contains a line break, which a rules file value cannot take", name)})
			default:
				out = append(out, value...)
				if value != "" && !seen[value] {
					seen[value] = true
					values = append(values, value)
				}
			}
			continue
		}
		out = append(out, c)
		i++
	}
	return out, values, errs
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// hider keeps substituted values out of error messages.
type hider struct{ values []string }

// minScrub is the shortest substituted value scrubbed out of messages that
// come from other packages (YAML, URL policy, filter parser). Shorter values
// cannot be secrets worth the name, and replacing them would garble the line
// numbers and words around them; this package's own messages never echo a
// value that contains any substituted value at all (see quote).
const minScrub = 3

// tainted reports whether s contains a substituted value.
func (h hider) tainted(s string) bool {
	for _, v := range h.values {
		if strings.Contains(s, v) {
			return true
		}
	}
	return false
}

// quote is how this package's messages show a value from the file: quoted,
// shortened, and withheld when any part of it came from the environment.
func (h hider) quote(s string) string {
	if h.tainted(s) {
		return "(a value from the environment)"
	}
	const max = 64
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	return strconv.Quote(s)
}

// scrub removes substituted values from a message built by another package,
// which may quote the text it was given.
func (h hider) scrub(msg string) string {
	for _, v := range h.values {
		if len(v) >= minScrub {
			msg = strings.ReplaceAll(msg, v, "***")
		}
	}
	return msg
}
