package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/ingest"
	"github.com/runhook/runhook/internal/runs"
)

// fakeRuns and fakeFeedback record what they are asked to write.
type fakeRuns struct {
	calls [][]runs.Run
	err   error
}

func (f *fakeRuns) InsertRuns(_ context.Context, rs []runs.Run) error {
	f.calls = append(f.calls, rs)
	return f.err
}

func (f *fakeRuns) all() []runs.Run {
	var out []runs.Run
	for _, c := range f.calls {
		out = append(out, c...)
	}
	return out
}

type fakeFeedback struct {
	calls [][]runs.Feedback
	err   error
}

func (f *fakeFeedback) InsertFeedback(_ context.Context, fs []runs.Feedback) error {
	f.calls = append(f.calls, fs)
	return f.err
}

var fixedNow = time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.UTC)

func opts(skip bool) ingest.Options {
	return ingest.Options{SkipInvalid: skip, Now: func() time.Time { return fixedNow }}
}

// id returns a fixed, readable UUID numbered n.
func id(n int) uuid.UUID {
	return uuid.MustParse(fmt.Sprintf("00000000-0000-4000-8000-%012d", n))
}

var sessionID = uuid.MustParse("00000000-0000-4000-8000-0000000000aa")

func runLine(n int) string {
	return fmt.Sprintf(`{"id":"%s","session_id":"%s","name":"run %d","run_type":"chain","start_time":"2024-04-05T01:28:54.%06d"}`,
		id(n), sessionID, n, n)
}

func feedbackLine(n int) string {
	return fmt.Sprintf(`{"id":"%s","run_id":"%s","key":"k%d","score":%d}`, id(1000+n), id(n), n, n%2)
}

// Bad lines of different kinds, with the field each one gets wrong.
var badRunLines = []struct{ line, field string }{
	{`{"id":"nope","session_id":"` + sessionID.String() + `","name":"x","run_type":"chain","start_time":"2024-04-05T01:28:54"}`, "id"},
	{`{"id":"` + id(99).String() + `","session_id":"` + sessionID.String() + `","run_type":"chain","start_time":"2024-04-05T01:28:54"}`, "name"},
	{`{"id":"` + id(98).String() + `","session_id":"` + sessionID.String() + `","name":"x","run_type":"agent","start_time":"2024-04-05T01:28:54"}`, "run_type"},
	{`{"id":"` + id(97).String() + `","session_id":"` + sessionID.String() + `","name":"x","run_type":"llm","start_time":"later"}`, "start_time"},
	{`{"id":"` + id(96).String() + `","session_id":"` + sessionID.String() + `","name":"x","run_type":"llm","start_time":"2024-04-05T01:28:54","total_tokens":-1}`, "total_tokens"},
}

func fieldOf(err error) string {
	var fe *runs.FieldError
	if errors.As(err, &fe) {
		return fe.Field
	}
	return ""
}

func lineNumbers(ls []ingest.LineError) []int {
	var out []int
	for _, l := range ls {
		out = append(out, l.Line)
	}
	return out
}

// fileWithBadLines2And5 has six lines; 2 and 5 are bad.
func fileWithBadLines2And5() (content string, good []uuid.UUID) {
	lines := []string{runLine(1), badRunLines[0].line, runLine(3), runLine(4), badRunLines[1].line, runLine(6)}
	return strings.Join(lines, "\n") + "\n", []uuid.UUID{id(1), id(3), id(4), id(6)}
}

func TestRunsAllValid(t *testing.T) {
	content := runLine(1) + "\n" + runLine(2) + "\n" + runLine(3) + "\n"
	w := &fakeRuns{}
	res, err := ingest.Runs(context.Background(), w, strings.NewReader(content), "runs.jsonl", opts(false))
	if err != nil {
		t.Fatal(err)
	}
	if res.Lines != 3 || res.Inserted != 3 || len(res.Skipped) != 0 {
		t.Errorf("result = %+v, want 3 lines, 3 inserted, none skipped", res)
	}
	if len(w.calls) != 1 {
		t.Fatalf("writer called %d times, want once with the whole file", len(w.calls))
	}
	for i, r := range w.calls[0] {
		want, err := runs.DecodeRun([]byte(runLine(i+1)), fixedNow)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(r, want) {
			t.Errorf("run %d = %+v, want %+v", i, r, want)
		}
		if !r.ModifiedAt.Equal(fixedNow.Truncate(time.Microsecond)) {
			t.Errorf("run %d modified_at = %v, want Options.Now", i, r.ModifiedAt)
		}
	}
}

func TestRunsInvalidInsertsNothing(t *testing.T) {
	content, _ := fileWithBadLines2And5()
	w := &fakeRuns{}
	res, err := ingest.Runs(context.Background(), w, strings.NewReader(content), "runs.jsonl", opts(false))
	var inv *ingest.Invalid
	if !errors.As(err, &inv) {
		t.Fatalf("err = %v (%T), want *ingest.Invalid", err, err)
	}
	if len(w.calls) != 0 {
		t.Fatalf("writer was given %d batches (%d runs) despite bad lines", len(w.calls), len(w.all()))
	}
	if inv.Source != "runs.jsonl" {
		t.Errorf("Source = %q", inv.Source)
	}
	if got := lineNumbers(inv.Lines); !reflect.DeepEqual(got, []int{2, 5}) {
		t.Fatalf("bad lines = %v, want [2 5]", got)
	}
	for i, want := range []string{"id", "name"} {
		if got := fieldOf(inv.Lines[i].Err); got != want {
			t.Errorf("line %d field = %q, want %q (%v)", inv.Lines[i].Line, got, want, inv.Lines[i].Err)
		}
	}
	if res.Inserted != 0 || res.Lines != 6 {
		t.Errorf("result = %+v, want 6 lines read, 0 inserted", res)
	}
	msg := err.Error()
	for _, s := range []string{"runs.jsonl", "2 invalid line(s)", "nothing inserted", `line 2: field "id"`, `line 5: field "name"`} {
		if !strings.Contains(msg, s) {
			t.Errorf("message does not contain %q:\n%s", s, msg)
		}
	}
	if strings.Contains(msg, "line 1:") || strings.Contains(msg, "line 3:") {
		t.Errorf("message lists good lines:\n%s", msg)
	}
}

func TestRunsSkipInvalid(t *testing.T) {
	content, good := fileWithBadLines2And5()
	w := &fakeRuns{}
	res, err := ingest.Runs(context.Background(), w, strings.NewReader(content), "runs.jsonl", opts(true))
	if err != nil {
		t.Fatalf("SkipInvalid: %v", err)
	}
	if got := lineNumbers(res.Skipped); !reflect.DeepEqual(got, []int{2, 5}) {
		t.Errorf("skipped lines = %v, want [2 5]", got)
	}
	if fieldOf(res.Skipped[0].Err) != "id" || fieldOf(res.Skipped[1].Err) != "name" {
		t.Errorf("skipped errors = %v", res.Skipped)
	}
	if res.Lines != 6 || res.Inserted != 4 {
		t.Errorf("result = %+v, want 6 lines, 4 inserted", res)
	}
	var ids []uuid.UUID
	for _, r := range w.all() {
		ids = append(ids, r.ID)
	}
	if !reflect.DeepEqual(ids, good) {
		t.Errorf("inserted %v, want %v", ids, good)
	}
}

func TestRunsEveryBadLineReported(t *testing.T) {
	var lines []string
	var wantLines []int
	var wantFields []string
	for i, b := range badRunLines {
		lines = append(lines, runLine(i+1), b.line)
		wantLines = append(wantLines, 2*i+2)
		wantFields = append(wantFields, b.field)
	}
	lines = append(lines, "not json", `["array"]`)
	wantLines = append(wantLines, 2*len(badRunLines)+1, 2*len(badRunLines)+2)
	wantFields = append(wantFields, "", "")
	w := &fakeRuns{}
	_, err := ingest.Runs(context.Background(), w, strings.NewReader(strings.Join(lines, "\n")), "f", opts(false))
	var inv *ingest.Invalid
	if !errors.As(err, &inv) {
		t.Fatalf("err = %v", err)
	}
	if got := lineNumbers(inv.Lines); !reflect.DeepEqual(got, wantLines) {
		t.Errorf("lines = %v, want %v", got, wantLines)
	}
	for i, l := range inv.Lines {
		if i < len(wantFields) && fieldOf(l.Err) != wantFields[i] {
			t.Errorf("line %d: field %q, want %q (%v)", l.Line, fieldOf(l.Err), wantFields[i], l.Err)
		}
	}
	if len(w.calls) != 0 {
		t.Error("writer called")
	}
}

func TestLineNumbering(t *testing.T) {
	bad := badRunLines[0].line
	cases := []struct {
		name      string
		content   string
		wantLines int   // non-blank lines
		wantBad   []int // numbers of the bad lines
	}{
		{"blank lines counted", runLine(1) + "\n\n" + bad + "\n", 2, []int{3}},
		{"whitespace-only lines", " \t\n" + runLine(1) + "\n   \n\n" + bad + "\n\n", 2, []int{5}},
		{"CRLF line endings", runLine(1) + "\r\n\r\n" + bad + "\r\n" + runLine(2) + "\r\n", 3, []int{3}},
		{"no trailing newline", runLine(1) + "\n" + bad, 2, []int{2}},
		{"leading blank lines", "\n\n\n" + bad, 1, []int{4}},
		{"indented line", "  " + runLine(1) + "  \n" + bad, 2, []int{2}},
		{"only blank lines", "\n\n  \n", 0, nil},
		{"empty", "", 0, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := &fakeRuns{}
			res, err := ingest.Runs(context.Background(), w, strings.NewReader(c.content), "f", opts(true))
			if err != nil {
				t.Fatal(err)
			}
			if res.Lines != c.wantLines {
				t.Errorf("Lines = %d, want %d", res.Lines, c.wantLines)
			}
			if got := lineNumbers(res.Skipped); !reflect.DeepEqual(got, c.wantBad) {
				t.Errorf("bad lines = %v, want %v", got, c.wantBad)
			}
			if res.Inserted != c.wantLines-len(c.wantBad) || len(w.all()) != res.Inserted {
				t.Errorf("inserted %d (writer got %d), want %d", res.Inserted, len(w.all()), c.wantLines-len(c.wantBad))
			}
			if res.Inserted == 0 && len(w.calls) != 0 {
				t.Errorf("writer called with nothing to write")
			}
		})
	}
}

// longLineReader yields one valid line, then a line of n bytes, without
// holding the long line in memory itself.
type longLineReader struct {
	head      io.Reader
	remaining int
}

func (r *longLineReader) Read(p []byte) (int, error) {
	if n, err := r.head.Read(p); n > 0 || err != io.EOF {
		return n, err
	}
	if r.remaining == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.remaining)
	for i := range p[:n] {
		p[i] = 'a'
	}
	r.remaining -= n
	return n, nil
}

func TestLineTooLong(t *testing.T) {
	r := &longLineReader{head: strings.NewReader(runLine(1) + "\n\n"), remaining: ingest.MaxLineBytes + 1}
	w := &fakeRuns{}
	_, err := ingest.Runs(context.Background(), w, r, "big.jsonl", opts(true))
	if err == nil {
		t.Fatal("no error for a line over MaxLineBytes")
	}
	var inv *ingest.Invalid
	if errors.As(err, &inv) {
		t.Errorf("an over-long line is a read error, not an invalid line: %v", err)
	}
	for _, s := range []string{"big.jsonl", "line 3", "longer than"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	if len(w.calls) != 0 {
		t.Error("writer called although the file could not be read")
	}
}

// errReader returns its content, then err.
type errReader struct {
	content io.Reader
	err     error
}

func (r *errReader) Read(p []byte) (int, error) {
	if n, err := r.content.Read(p); n > 0 || err != io.EOF {
		return n, err
	}
	return 0, r.err
}

func TestReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	r := &errReader{content: strings.NewReader(runLine(1) + "\n" + runLine(2) + "\n"), err: boom}
	w := &fakeRuns{}
	_, err := ingest.Runs(context.Background(), w, r, "f.jsonl", opts(true))
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want it to wrap %v", err, boom)
	}
	if !strings.Contains(err.Error(), "f.jsonl") || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("error %q does not name the source and line", err)
	}
	if len(w.calls) != 0 {
		t.Error("writer called although the file could not be read")
	}
}

func TestWriterError(t *testing.T) {
	boom := errors.New("clickhouse down")
	for _, skip := range []bool{false, true} {
		t.Run(fmt.Sprintf("SkipInvalid=%v", skip), func(t *testing.T) {
			w := &fakeRuns{err: boom}
			res, err := ingest.Runs(context.Background(), w, strings.NewReader(runLine(1)+"\n"+runLine(2)), "f.jsonl", opts(skip))
			if !errors.Is(err, boom) {
				t.Fatalf("err = %v, want it to wrap %v", err, boom)
			}
			if !strings.Contains(err.Error(), "f.jsonl") {
				t.Errorf("error %q does not name the source", err)
			}
			if res.Inserted != 0 {
				t.Errorf("Inserted = %d after a failed write", res.Inserted)
			}
		})
	}
	fw := &fakeFeedback{err: boom}
	if _, err := ingest.Feedback(context.Background(), fw, strings.NewReader(feedbackLine(1)), "fb", opts(false)); !errors.Is(err, boom) {
		t.Errorf("feedback: err = %v, want %v", err, boom)
	}
}

func TestInvalidErrorCapsListing(t *testing.T) {
	cases := []struct {
		n        int
		listed   int
		wantMore string
	}{
		{1, 1, ""},
		{20, 20, ""},
		{21, 20, "... and 1 more"},
		{150, 20, "... and 130 more"},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.n), func(t *testing.T) {
			inv := &ingest.Invalid{Source: "s"}
			for i := 1; i <= c.n; i++ {
				inv.Lines = append(inv.Lines, ingest.LineError{Line: i, Err: errors.New("bad")})
			}
			msg := inv.Error()
			if got := strings.Count(msg, ": bad"); got != c.listed {
				t.Errorf("%d lines listed, want %d:\n%s", got, c.listed, msg)
			}
			if !strings.Contains(msg, fmt.Sprintf("%d invalid line(s)", c.n)) {
				t.Errorf("count missing:\n%s", msg)
			}
			if c.wantMore == "" && strings.Contains(msg, "more") || c.wantMore != "" && !strings.HasSuffix(msg, c.wantMore) {
				t.Errorf("want suffix %q:\n%s", c.wantMore, msg)
			}
		})
	}
	// A real file with many bad lines: all collected, the message capped.
	content := strings.Repeat("not json\n", 30)
	_, err := ingest.Runs(context.Background(), &fakeRuns{}, strings.NewReader(content), "s", opts(false))
	var inv *ingest.Invalid
	if !errors.As(err, &inv) || len(inv.Lines) != 30 {
		t.Fatalf("err = %v, want Invalid with 30 lines", err)
	}
	if got := strings.Count(err.Error(), "\n  line "); got != 20 {
		t.Errorf("%d lines in message, want 20", got)
	}
}

func TestLineErrorError(t *testing.T) {
	e := ingest.LineError{Line: 7, Err: &runs.FieldError{Field: "id", Err: errors.New("required")}}
	if got, want := e.Error(), `line 7: field "id": required`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestDefaultNow(t *testing.T) {
	w := &fakeRuns{}
	before := time.Now().UTC().Truncate(time.Microsecond)
	if _, err := ingest.Runs(context.Background(), w, strings.NewReader(runLine(1)), "f", ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	after := time.Now().UTC()
	got := w.all()[0].ModifiedAt
	if got.Before(before) || got.After(after) {
		t.Errorf("modified_at = %v, want between %v and %v", got, before, after)
	}
}

func TestFeedbackIngest(t *testing.T) {
	lines := []string{
		feedbackLine(1),
		`{"id":"` + id(2001).String() + `","run_id":"not-a-run","key":"k"}`,
		feedbackLine(3),
		"",
		`{"id":"` + id(2005).String() + `","run_id":"` + id(5).String() + `"}`,
		feedbackLine(6),
	}
	content := strings.Join(lines, "\n")

	w := &fakeFeedback{}
	_, err := ingest.Feedback(context.Background(), w, strings.NewReader(content), "fb.jsonl", opts(false))
	var inv *ingest.Invalid
	if !errors.As(err, &inv) {
		t.Fatalf("err = %v, want *ingest.Invalid", err)
	}
	if got := lineNumbers(inv.Lines); !reflect.DeepEqual(got, []int{2, 5}) {
		t.Errorf("bad lines = %v, want [2 5]", got)
	}
	if fieldOf(inv.Lines[0].Err) != "run_id" || fieldOf(inv.Lines[1].Err) != "key" {
		t.Errorf("bad line errors = %v", inv.Lines)
	}
	if len(w.calls) != 0 {
		t.Error("writer called despite bad lines")
	}

	res, err := ingest.Feedback(context.Background(), w, strings.NewReader(content), "fb.jsonl", opts(true))
	if err != nil {
		t.Fatal(err)
	}
	if res.Lines != 5 || res.Inserted != 3 || !reflect.DeepEqual(lineNumbers(res.Skipped), []int{2, 5}) {
		t.Errorf("result = %+v", res)
	}
	if len(w.calls) != 1 || len(w.calls[0]) != 3 {
		t.Fatalf("writer calls = %v", w.calls)
	}
	for i, n := range []int{1, 3, 6} {
		want, err := runs.DecodeFeedback([]byte(feedbackLine(n)), fixedNow)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(w.calls[0][i], want) {
			t.Errorf("feedback %d = %+v, want %+v", i, w.calls[0][i], want)
		}
	}
}
