// Package schema holds runhook's ClickHouse DDL as numbered migrations
// (NNNN_name.sql), applied in order by `starter migrate`. Each file is one or
// more statements separated by ";" at a line end. Every statement must run on
// ClickHouse 18.16 and on current releases.
package schema

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed *.sql
var files embed.FS

// Migration is one numbered file of statements.
type Migration struct {
	Version    uint32
	Name       string
	Statements []string
}

// Migrations returns every migration, in version order.
func Migrations() ([]Migration, error) {
	names, err := fs.Glob(files, "*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []Migration
	seen := map[uint32]string{}
	for _, name := range names {
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.ParseUint(num, 10, 32)
		if !ok || err != nil || v == 0 {
			return nil, fmt.Errorf("schema file %s: name must be NNNN_name.sql", name)
		}
		if prev, dup := seen[uint32(v)]; dup {
			return nil, fmt.Errorf("schema files %s and %s share version %d", prev, name, v)
		}
		seen[uint32(v)] = name
		body, err := files.ReadFile(name)
		if err != nil {
			return nil, err
		}
		m := Migration{Version: uint32(v), Name: rest, Statements: Split(string(body))}
		if len(m.Statements) == 0 {
			return nil, fmt.Errorf("schema file %s has no statements", name)
		}
		out = append(out, m)
	}
	return out, nil
}

// Split cuts a file into statements at ";" that ends a line, dropping
// comment-only lines.
func Split(body string) []string {
	var stmts []string
	var cur strings.Builder
	for _, line := range strings.Split(body, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteString("\n")
		if strings.HasSuffix(trimmed, ";") {
			if s := strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"); s != "" {
				stmts = append(stmts, s)
			}
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		stmts = append(stmts, s)
	}
	return stmts
}
