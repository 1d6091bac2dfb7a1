package rules

import (
	"strconv"
	"strings"
)

// FieldError is one problem in a rules file. Its message never contains a
// value substituted from the environment, a webhook URL's query values or
// user info, a header value or a signing secret.
type FieldError struct {
	Rule string // `rule "name"`, or `rules[3]` when the rule has no usable name; empty for the file itself
	Path string // e.g. "webhooks[0].url"; empty for the rule or file as a whole
	Line int    // 1-based line in the file; 0 when unknown
	Msg  string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Rule != "" {
		b.WriteString(e.Rule)
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Line > 0 {
		b.WriteString(" (line ")
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(")")
	}
	return b.String()
}

// FileError carries every problem found in a rules file, in file order. A
// file with any problem yields no rules at all, so a half-valid file is
// never applied in part.
type FileError struct {
	Path string // the file as named to Load; empty for Parse
	Errs []error
}

// Error lists the problems one per line, each prefixed with the file's path
// when there is one, so the CLI can print it as is.
func (e *FileError) Error() string {
	lines := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		if e.Path != "" {
			lines[i] = e.Path + ": " + err.Error()
		} else {
			lines[i] = err.Error()
		}
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As reach each *FieldError.
func (e *FileError) Unwrap() []error { return e.Errs }
