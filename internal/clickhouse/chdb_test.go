//go:build chdb

// The schema and every query shape of this package, run on a current
// ClickHouse: libchdb, ClickHouse in process, so no second server is needed
// beside the 18.16 one the other tests use. chdb-go loads the library with
// dlopen (purego), so the build needs no cgo and the library is only needed
// when the test runs. Run it with `make test-chdb` (scripts/chdb.sh test),
// which fetches libchdb into .tools/chdb and sets CHDB_LIB_PATH. chdb-go opens
// the library while the test binary starts, before any test code runs, so
// without it the binary stops with "panic: ...libchdb.so: cannot open shared
// object file".
//
// The driver binds values client-side and sends batches natively; libchdb
// takes SQL text only, so the test binds the same literals clickhouse-go
// would (see bind) and writes batches as INSERT ... VALUES.
package clickhouse_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/chdb-io/chdb-go/chdb"
	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/filter"
	"github.com/runhook/runhook/schema"
)

// chdbSession is one libchdb session over a throw-away data directory.
type chdbSession struct{ s *chdb.Session }

func openChdb(t *testing.T) *chdbSession {
	t.Helper()
	s, err := chdb.NewSession(t.TempDir())
	if err != nil {
		t.Fatalf("libchdb session: %v; run `make test-chdb` (scripts/chdb.sh test)", err)
	}
	t.Cleanup(s.Close)
	c := &chdbSession{s: s}
	// A named database, as in production, where every table name is unqualified.
	c.exec(t, "CREATE DATABASE runhook_chdb")
	c.exec(t, "USE runhook_chdb")
	// The default changed across releases; pinned so UInt64 decodes one way.
	c.exec(t, "SET output_format_json_quote_64bit_integers = 0")
	return c
}

func (c *chdbSession) query(t *testing.T, format, query string, args ...any) string {
	t.Helper()
	sql, err := bind(query, args...)
	if err != nil {
		t.Fatalf("bind: %v\nquery: %s", err, query)
	}
	res, err := c.s.Query(sql, format)
	if err != nil {
		t.Fatalf("ClickHouse refused it: %v\nquery: %s", err, sql)
	}
	defer res.Free()
	return res.String()
}

func (c *chdbSession) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	c.query(t, "TabSeparated", query, args...)
}

// rows decodes the result as JSON objects keyed by column name, numbers as
// json.Number so UInt64 keeps every digit.
func (c *chdbSession) rows(t *testing.T, query string, args ...any) []map[string]any {
	t.Helper()
	out := c.query(t, "JSONEachRow", query, args...)
	var rows []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		var row map[string]any
		if err := dec.Decode(&row); err != nil {
			t.Fatalf("decode %q: %v", sc.Text(), err)
		}
		rows = append(rows, row)
	}
	return rows
}

// insert writes rows through an INSERT head of this package (a batch for the
// driver) by giving it a VALUES tuple per row.
func (c *chdbSession) insert(t *testing.T, head string, rows ...[]any) {
	t.Helper()
	n := len(columnsOf(t, head))
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
	tuples := make([]string, len(rows))
	var args []any
	for i, r := range rows {
		if len(r) != n {
			t.Fatalf("row %d has %d values for %d columns of %s", i, len(r), n, head)
		}
		tuples[i] = tuple
		args = append(args, r...)
	}
	c.exec(t, head+" VALUES "+strings.Join(tuples, ", "), args...)
}

func columnsOf(t *testing.T, insertHead string) []string {
	t.Helper()
	open, end := strings.Index(insertHead, "("), strings.LastIndex(insertHead, ")")
	if open < 0 || end < open {
		t.Fatalf("no column list in %q", insertHead)
	}
	cols := strings.Split(insertHead[open+1:end], ",")
	for i := range cols {
		cols[i] = strings.TrimSpace(cols[i])
	}
	return cols
}

// bind replaces each ? outside string literals with the literal clickhouse-go
// writes for the argument (its bind.go format), for the types this package
// binds: strings and UUIDs quoted and escaped, integers bare, floats cast,
// nil as NULL, slices as arrays and GroupSet as a parenthesised list.
func bind(query string, args ...any) (string, error) {
	var b strings.Builder
	next, inString := 0, false
	for i := 0; i < len(query); i++ {
		switch r := query[i]; {
		case r == '\\' && inString:
			b.WriteByte(r)
			i++
			if i < len(query) {
				b.WriteByte(query[i])
			}
			continue
		case r == '\'':
			inString = !inString
		case r == '?' && !inString:
			if next == len(args) {
				return "", fmt.Errorf("more placeholders than the %d arguments", len(args))
			}
			lit, err := literal(args[next])
			if err != nil {
				return "", fmt.Errorf("argument %d: %w", next+1, err)
			}
			b.WriteString(lit)
			next++
			continue
		}
		b.WriteByte(query[i])
	}
	if next != len(args) {
		return "", fmt.Errorf("%d arguments for %d placeholders", len(args), next)
	}
	return b.String(), nil
}

var quoteReplacer = strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`)

func literal(v any) (string, error) {
	rv := reflect.ValueOf(v)
	switch {
	case !rv.IsValid():
		return "NULL", nil
	case rv.Kind() == reflect.Pointer:
		if rv.IsNil() {
			return "NULL", nil
		}
		return literal(rv.Elem().Interface())
	}
	switch v := v.(type) {
	case string:
		return "'" + quoteReplacer.Replace(v) + "'", nil
	case uuid.UUID:
		return "'" + v.String() + "'", nil
	case float64:
		return "cast(" + strconv.FormatFloat(v, 'g', -1, 64) + ", 'Float64')", nil
	case uint8, uint32, uint64, int32:
		return fmt.Sprint(v), nil
	case ch.GroupSet:
		list, err := literals(reflect.ValueOf(v.Value))
		return "(" + list + ")", err
	}
	if rv.Kind() == reflect.Slice {
		list, err := literals(rv)
		return "[" + list + "]", err
	}
	return "", fmt.Errorf("no literal for %T", v)
}

func literals(slice reflect.Value) (string, error) {
	parts := make([]string, slice.Len())
	for i := range parts {
		lit, err := literal(slice.Index(i).Interface())
		if err != nil {
			return "", err
		}
		parts[i] = lit
	}
	return strings.Join(parts, ", "), nil
}

// jsonOf is what the server's JSONEachRow output holds for a bound value.
func jsonOf(v any) any {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || rv.Kind() == reflect.Pointer && rv.IsNil() {
		return nil
	}
	if rv.Kind() == reflect.Pointer {
		return jsonOf(rv.Elem().Interface())
	}
	switch v := v.(type) {
	case uuid.UUID:
		return v.String()
	case string:
		return v
	case uint8, uint32, uint64, int32:
		return json.Number(fmt.Sprint(v))
	case float64:
		return json.Number(strconv.FormatFloat(v, 'g', -1, 64))
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = jsonOf(rv.Index(i).Interface())
	}
	return out
}

// wantRow checks a row read back against the values written, column by
// column, and that the server filled inserted_at.
func wantRow(t *testing.T, got map[string]any, cols []string, written []any) {
	t.Helper()
	if s, _ := got["inserted_at"].(string); s == "" || strings.HasPrefix(s, "1970-") {
		t.Errorf("inserted_at = %v, want the server's insertion time", got["inserted_at"])
	}
	for i, col := range cols {
		if want := jsonOf(written[i]); !reflect.DeepEqual(got[col], want) {
			t.Errorf("column %s = %#v, want %#v", col, got[col], want)
		}
	}
	if len(got) != len(cols)+1 {
		t.Errorf("row has %d columns, want %d and inserted_at", len(got), len(cols))
	}
}

func uuidGroupSet(ids ...uuid.UUID) ch.GroupSet {
	vals := make([]any, len(ids))
	for i, id := range ids {
		vals[i] = id.String() // as the package's uuidSet binds them
	}
	return ch.GroupSet{Value: vals}
}

// uuidLess is the order of ORDER BY on a UUID column, on 18.16 and current
// releases alike: the last 8 bytes compare first, then the first 8, so it is
// not the order of the strings.
func uuidLess(a, b uuid.UUID) bool {
	if c := bytes.Compare(a[8:], b[8:]); c != 0 {
		return c < 0
	}
	return bytes.Compare(a[:8], b[:8]) < 0
}

func sortedIDs(ids ...uuid.UUID) []string {
	sort.Slice(ids, func(i, j int) bool { return uuidLess(ids[i], ids[j]) })
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// micros are UInt64 microseconds since the epoch, as runs.Micros writes them.
func micros(s string) uint64 {
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return uint64(ts.UnixMicro())
}

func firstLine(stmt string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(stmt), "\n")
	return strings.TrimSpace(line)
}

// run is one version of a run in InsertRunsSQL's column order, with the Go
// types InsertRuns appends.
type run struct {
	id, traceID, sessionID uuid.UUID
	tenantID, parentID     *uuid.UUID
	name, status           string
	isRoot                 uint8
	start, modified        uint64
	end                    *uint64
	parents                []uuid.UUID
	cost                   *float64
	tags                   []string
	errText                *string
	inputs, outputs        *string
	extra                  *string
}

func (r run) values() []any {
	dotted := "20240405T012854085646Z" + r.traceID.String()
	if r.parentID != nil {
		dotted += ".20240405T012854185646Z" + r.id.String()
	}
	var nilUUID *uuid.UUID
	var nilString *string
	var nilFloat *float64
	raw := func(p *string) json.RawMessage {
		if p == nil {
			return nil
		}
		return json.RawMessage(*p)
	}
	mk, mv := filter.Metadata(raw(r.extra))
	ik, iv := filter.Flatten(raw(r.inputs))
	ok, ov := filter.Flatten(raw(r.outputs))
	return []any{
		r.id, r.traceID, r.sessionID, r.tenantID, r.parentID, nilUUID, // reference_example_id
		r.name, "chain", r.status, r.isRoot, dotted,
		r.start, r.end, r.modified, (*uint64)(nil), ptr(r.start - 1200), // first_token_time, last_queued_at
		r.parents, ptr(`[]`), nilString, // child_run_ids, direct_child_run_ids
		uint64(1234), uint64(1000), uint64(234), r.cost, nilFloat, ptr(0.000468), // tokens, costs
		ptr("/o/t/projects/p/" + r.sessionID.String() + "/r/" + r.id.String() + "?trace_id=" + r.traceID.String()),
		uint8(0), r.tags, r.errText, r.inputs, r.outputs,
		nilString, ptr(`{"output":"s3://bucket/key?x=1"}`), // inputs_s3_urls, outputs_s3_urls
		r.extra, ptr(`[{"name":"start","time":"2024-04-05T01:28:54.085646"}]`), // events
		nilString, nilString, nilString, // feedback_stats, serialized, share_token
		mk, mv, ik, iv, ok, ov, // pair columns, as InsertRuns derives them
		uint32(r.modified % 5000), uint32(10), int32(-3), uint32(20), int32(r.start % 700), // sizes
	}
}

func TestChdb(t *testing.T) {
	c := openChdb(t)
	t.Logf("engine: ClickHouse %s (libchdb)", strings.TrimSpace(c.query(t, "TabSeparated", "SELECT version()")))

	migrations, err := schema.Migrations()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("CreateMigrationsTableSQL", func(t *testing.T) {
		c.exec(t, clickhouse.CreateMigrationsTableSQL)
		if rows := c.rows(t, clickhouse.AppliedMigrationsSQL); len(rows) != 0 {
			t.Errorf("fresh database has applied migrations %v", rows)
		}
	})
	for _, m := range migrations {
		for i, stmt := range m.Statements {
			t.Run(fmt.Sprintf("migration/%04d_%s/%d %s", m.Version, m.Name, i+1, firstLine(stmt)), func(t *testing.T) {
				c.exec(t, stmt)
			})
		}
	}
	// Migrate applies an interrupted migration again from its first statement,
	// skipping the columns it already added.
	t.Run("migrations/again", func(t *testing.T) {
		c.exec(t, clickhouse.CreateMigrationsTableSQL)
		for _, m := range migrations {
			for _, stmt := range m.Statements {
				if table, column, ok := clickhouse.AddsColumn(stmt); ok {
					if n := c.rows(t, clickhouse.ColumnExistsSQL, table, column); len(n) != 1 || fmt.Sprint(n[0]["count()"]) != "1" {
						t.Errorf("ColumnExistsSQL(%s, %s) = %v after the column was added", table, column, n)
					}
					continue
				}
				// As Migrate: a rename already done is skipped, a rebuild's
				// table is emptied before it is filled.
				if from, to, ok := clickhouse.Renames(stmt); ok {
					exists := func(table string) bool {
						n := c.rows(t, clickhouse.TableExistsSQL, table)
						return len(n) == 1 && fmt.Sprint(n[0]["count()"]) == "1"
					}
					if !exists(from) && exists(to) {
						continue
					}
				}
				if table, ok := clickhouse.FillsRebuild(stmt); ok {
					c.exec(t, "TRUNCATE TABLE "+table)
				}
				c.exec(t, stmt)
			}
		}
	})
	if t.Failed() {
		t.Fatal("the schema does not apply; the queries are not tried")
	}

	t.Run("RecordMigrationSQL+AppliedMigrationsSQL", func(t *testing.T) {
		var rows [][]any
		want := []any{}
		for _, m := range migrations {
			h := sha256.Sum256([]byte(strings.Join(m.Statements, ";\n")))
			sum := hex.EncodeToString(h[:8])
			rows = append(rows, []any{m.Version, m.Name, sum})
			want = append(want, map[string]any{"version": json.Number(fmt.Sprint(m.Version)), "any(checksum)": sum})
		}
		c.insert(t, clickhouse.RecordMigrationSQL, rows...)
		c.insert(t, clickhouse.RecordMigrationSQL, rows[0]) // a second migrator raced the first
		got := []any{}
		for _, r := range c.rows(t, clickhouse.AppliedMigrationsSQL) {
			got = append(got, r)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("applied = %v, want %v", got, want)
		}
	})

	// Two runs of one project, a root and its child, each posted then
	// patched; a stale version of the root (older modified_at) is written
	// last and must not win. A pending run of the same project and a
	// completed run of another project bound the rule window.
	runCols := columnsOf(t, clickhouse.InsertRunsSQL)
	session, otherSession, tenant := uuid.New(), uuid.New(), uuid.New()
	// Fixed ids whose string order is the reverse of the server's, so every
	// run checks that result order is the server's.
	rootID := uuid.MustParse("1a062838-e746-4489-a2e6-e284eaa9b692")
	childID := uuid.MustParse("2a9d4260-43e6-4123-9531-5a4992343616")
	pendingID, elsewhereID := uuid.New(), uuid.New()
	t0 := micros("2024-04-05T01:28:54.085646Z")
	rootPosted := run{id: rootID, traceID: rootID, sessionID: session, tenantID: &tenant,
		name: "agent", status: "pending", isRoot: 1, start: t0, modified: t0,
		parents: []uuid.UUID{}, tags: []string{"prod", "it's \"quoted\""},
		inputs: ptr(`{"question":"What's 6×7? \\ \"answer\" ?","lines":"a\nb"}`)}
	rootPatched := rootPosted
	rootPatched.status, rootPatched.end, rootPatched.modified = "success", ptr(t0+1_500_000), t0+1_500_001
	rootPatched.outputs, rootPatched.cost = ptr(`{"answer":"42"}`), ptr(0.0012)
	rootPatched.extra = ptr(`{"metadata":{"ls_run_depth":0}}`)
	rootLate := rootPosted
	rootLate.name, rootLate.modified = "stale", t0+1 // older than the patch
	childPosted := run{id: childID, traceID: rootID, sessionID: session, tenantID: nil, parentID: &rootID,
		name: "llm", status: "pending", isRoot: 0, start: t0 + 100_000, modified: t0 + 100_000,
		parents: []uuid.UUID{rootID}, tags: []string{}}
	childPatched := childPosted
	childPatched.status, childPatched.end, childPatched.modified = "error", ptr(t0+900_000), t0+900_000
	childPatched.errText = ptr("RateLimitError('429: slow down')")
	pending := run{id: pendingID, traceID: pendingID, sessionID: session, tenantID: &tenant,
		name: "pending", status: "pending", isRoot: 1, start: t0, modified: t0, parents: []uuid.UUID{}, tags: []string{}}
	elsewhere := run{id: elsewhereID, traceID: elsewhereID, sessionID: otherSession,
		name: "elsewhere", status: "success", isRoot: 1, start: t0, end: ptr(t0 + 10), modified: t0 + 10,
		parents: []uuid.UUID{}, tags: []string{}}

	windowStart := uint32(time.Now().Add(-time.Minute).Unix())
	if !t.Run("InsertRunsSQL", func(t *testing.T) {
		c.insert(t, clickhouse.InsertRunsSQL, rootPosted.values(), childPosted.values(), pending.values(), elsewhere.values())
		c.insert(t, clickhouse.InsertRunsSQL, childPatched.values())
		c.insert(t, clickhouse.InsertRunsSQL, rootPatched.values())
		c.insert(t, clickhouse.InsertRunsSQL, rootLate.values())
	}) {
		t.FailNow()
	}
	windowEnd := uint32(time.Now().Add(time.Minute).Unix())

	t.Run("LatestRunsSQL", func(t *testing.T) {
		got := c.rows(t, clickhouse.LatestRunsSQL, uuidGroupSet(rootID, childID, uuid.New()))
		want := []run{childPatched, rootPatched} // in the server's UUID order
		if len(got) != len(want) {
			t.Fatalf("read %d rows, want %d (newest version of each known id): %v", len(got), len(want), got)
		}
		// LatestRunsSQL reads the run's fields, not the derived pair and size columns at the end.
		fields := len(runCols) - 11
		for i, w := range want {
			wantRow(t, got[i], runCols[:fields], w.values()[:fields])
		}
	})

	t.Run("RunSizesSQL", func(t *testing.T) {
		got := c.rows(t, clickhouse.RunSizesSQL, uuidGroupSet(rootID, childID, uuid.New()))
		want := []run{childPatched, rootPatched} // in the server's UUID order
		if len(got) != len(want) {
			t.Fatalf("read %d rows, want %d (newest version of each known id): %v", len(got), len(want), got)
		}
		sizes := len(runCols) - 5
		for i, w := range want {
			wantGot := map[string]any{"id": w.id.String()}
			for j, col := range runCols[sizes:] {
				wantGot[col] = jsonOf(w.values()[sizes+j])
			}
			if !reflect.DeepEqual(got[i], wantGot) {
				t.Errorf("row %d = %v, want %v", i, got[i], wantGot)
			}
		}
	})

	t.Run("StoredRunIDsSQL", func(t *testing.T) {
		if got := c.rows(t, clickhouse.StoredRunIDsSQL, uuidGroupSet(rootID, childID, uuid.New())); len(got) != 2 {
			t.Fatalf("found %d stored ids, want 2 (each once): %v", len(got), got)
		}
	})

	t.Run("RunWritesSQL", func(t *testing.T) {
		req := uuid.New()
		create := []any{rootID.String(), t0, req.String(), uint32(0), uint8(0), `{"name":"agent"}`}
		patch := []any{rootID.String(), t0 + 5, req.String(), uint32(1), uint8(1), `{"end_time":"x"}`}
		base := []any{childID.String(), t0, uuid.New().String(), uint32(0), uint8(2), `{}`}
		c.insert(t, clickhouse.InsertRunWritesSQL, patch, create, base)
		c.insert(t, clickhouse.InsertRunWritesSQL, base) // two servers log the same base
		got := c.rows(t, clickhouse.RunWritesSQL, uuidGroupSet(rootID, uuid.New()))
		if len(got) != 2 || got[0]["seq"] != jsonOf(uint32(0)) || got[1]["body"] != `{"end_time":"x"}` {
			t.Fatalf("read %v, want the run's two writes in the order received", got)
		}
	})

	t.Run("MatchSQL", func(t *testing.T) {
		win := clickhouse.Window{After: time.Unix(int64(windowStart), 0), UpTo: time.Unix(int64(windowEnd), 0)}
		e, err := filter.Parse(`and(eq(is_root, true), search("6×7"), has(tags, "prod"))`)
		if err != nil {
			t.Fatal(err)
		}
		m := clickhouse.Match{RuleID: uuid.New(), Project: session, Window: win, SamplingRate: 0.999999, Owner: "o", Limit: 10,
			Filter: e, TraceFilter: e, Recent: time.Hour}
		query, args, err := clickhouse.MatchSQL(m, []uuid.UUID{rootID, uuid.New()})
		if err != nil {
			t.Fatal(err)
		}
		// Both completed runs of the window, the root passing (its
		// documents may hold 6×7) and the child not (it is no root). A
		// rate of 0.999999 keeps the sampling clause in the query and
		// drops one run in a million.
		got := map[string]string{}
		for _, r := range c.rows(t, query, args...) {
			got[fmt.Sprint(r["id"])] = fmt.Sprint(r["pass"])
		}
		if want := map[string]string{rootID.String(): "1", childID.String(): "0"}; !reflect.DeepEqual(got, want) {
			t.Errorf("window = %v, want %v", got, want)
		}
		query, args, err = clickhouse.RecheckSQL(m, []uuid.UUID{rootID, childID})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.rows(t, query, args...); len(got) != 1 || fmt.Sprint(got[0]["id"]) != rootID.String() {
			t.Errorf("recheck = %v, want the completed root, whose inputs hold 6×7", got)
		}
		if got := c.rows(t, clickhouse.UnclaimedSQL, m.RuleID, uuidGroupSet(rootID), "o"); len(got) != 0 {
			t.Errorf("claims of a rule that claimed nothing: %v", got)
		}
	})

	t.Run("CompletedArrivalsSQL", func(t *testing.T) {
		got := c.rows(t, clickhouse.CompletedArrivalsSQL, session, windowStart, windowEnd)
		want := sortedIDs(rootID, childID)
		var ids []string
		for _, r := range got {
			ids = append(ids, fmt.Sprint(r["id"]))
		}
		if !reflect.DeepEqual(ids, want) {
			t.Errorf("window = %v, want the completed runs %v", ids, want)
		}
		if got := c.rows(t, clickhouse.CompletedArrivalsSQL, session, windowEnd, windowEnd+3600); len(got) != 0 {
			t.Errorf("a later window = %v, want none", got)
		}
		// The view records every write, completed as of that write: only the
		// two patches (the latest writes by modified_at) are completed.
		var completed []string
		for _, r := range c.rows(t, "SELECT completed FROM run_arrivals WHERE session_id = ? ORDER BY modified_at", session) {
			completed = append(completed, fmt.Sprint(r["completed"]))
		}
		if want := []string{"0", "0", "0", "0", "1", "1"}; !reflect.DeepEqual(completed, want) {
			t.Errorf("run_arrivals completed flags by modified_at = %v, want %v (one row per write)", completed, want)
		}
	})

	t.Run("CountRunsSQL", func(t *testing.T) {
		got := c.rows(t, clickhouse.CountRunsSQL)
		if len(got) != 1 || got[0]["uniqExact(id)"] != json.Number("4") {
			t.Errorf("count = %v, want 4 runs (of 7 versions)", got)
		}
	})

	// One feedback row in two versions, the newer with a changed score, and
	// one on another run.
	fbCols := columnsOf(t, clickhouse.InsertFeedbackSQL)
	fbID, fbOtherID := uuid.New(), uuid.New()
	created := micros("2024-04-05T01:28:55.123456Z")
	fbOld := []any{fbID, rootID, &rootID, &session, "answer_usefulness", ptr(0.75),
		ptr(`{"label":"useful"}`), ptr("good, but 'slow'"), (*string)(nil), ptr(`{"type":"model"}`), created, created}
	fbNew := append([]any{}, fbOld...)
	fbNew[5], fbNew[11] = ptr(1.0), created+1
	fbOther := []any{fbOtherID, childID, (*uuid.UUID)(nil), (*uuid.UUID)(nil), "correctness", (*float64)(nil),
		(*string)(nil), (*string)(nil), ptr(`{"answer":"43"}`), (*string)(nil), created, created}
	if !t.Run("InsertFeedbackSQL", func(t *testing.T) {
		c.insert(t, clickhouse.InsertFeedbackSQL, fbOld, fbOther)
		c.insert(t, clickhouse.InsertFeedbackSQL, fbNew)
	}) {
		t.FailNow()
	}

	t.Run("FeedbackForRunsSQL", func(t *testing.T) {
		got := c.rows(t, clickhouse.FeedbackForRunsSQL, uuidGroupSet(rootID, uuid.New()))
		if len(got) != 1 {
			t.Fatalf("read %d feedback rows, want the newest version of 1: %v", len(got), got)
		}
		wantRow(t, got[0], fbCols, fbNew)

		both := c.rows(t, clickhouse.FeedbackForRunsSQL, uuidGroupSet(rootID, childID))
		want := map[string][]any{rootID.String(): fbNew, childID.String(): fbOther}
		if len(both) != 2 {
			t.Fatalf("read %d feedback rows for two runs, want 2: %v", len(both), both)
		}
		if order := []string{fmt.Sprint(both[0]["run_id"]), fmt.Sprint(both[1]["run_id"])}; !reflect.DeepEqual(order, sortedIDs(rootID, childID)) {
			t.Errorf("run_id order = %v, want the server's UUID order %v", order, sortedIDs(rootID, childID))
		}
		for _, r := range both {
			wantRow(t, r, fbCols, want[fmt.Sprint(r["run_id"])])
		}
	})
}
