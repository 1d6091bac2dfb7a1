// Package ingest reads runs and feedback as JSON Lines in LangSmith's REST
// shapes. A file is checked whole before anything is written, so a bad line
// either stops the file (the default) or is reported and left out. A run's
// line is stored as the API stores the same run posted by an SDK: both merge
// it with runs.Merge.
package ingest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/runhook/runhook/internal/runs"
)

// MaxLineBytes bounds one line; a run's inputs and outputs can be large, but
// not unbounded.
const MaxLineBytes = 64 << 20

// LineError is one bad line: its 1-based number and what is wrong.
type LineError struct {
	Line int
	Err  error
}

func (e LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

// Invalid is returned when lines are bad and nothing was written.
type Invalid struct {
	Source string
	Lines  []LineError
}

func (e *Invalid) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d invalid line(s), nothing inserted (use --skip-invalid to insert the valid lines)", e.Source, len(e.Lines))
	for i, l := range e.Lines {
		if i == 20 {
			fmt.Fprintf(&b, "\n  ... and %d more", len(e.Lines)-i)
			break
		}
		b.WriteString("\n  ")
		b.WriteString(l.Error())
	}
	return b.String()
}

// Result counts what one ingest did.
type Result struct {
	Lines    int // non-blank lines read
	Inserted int
	Skipped  []LineError // bad lines left out under SkipInvalid
}

// Options for one ingest.
type Options struct {
	// SkipInvalid inserts the valid lines and reports the bad ones instead of
	// inserting nothing.
	SkipInvalid bool
	// Now stamps modified_at where a line has none, as LangSmith's server does.
	Now func() time.Time
}

// RunWriter and FeedbackWriter are the storage the lines go to.
type RunWriter interface {
	InsertRuns(ctx context.Context, rs []runs.Run) error
}

type FeedbackWriter interface {
	InsertFeedback(ctx context.Context, fs []runs.Feedback) error
}

// Runs reads runs from r (named source in errors) and writes them to w.
func Runs(ctx context.Context, w RunWriter, r io.Reader, source string, opts Options) (Result, error) {
	return load(ctx, r, source, opts, decodeRun, w.InsertRuns)
}

// decodeRun reads one line as a run created whole, deriving what the API
// derives for a create. A line is a complete version of its run, not merged
// with the stored one: of several versions, storage keeps the newest
// modified_at, as it does for lines of a file loaded again.
func decodeRun(line []byte, now time.Time) (runs.Run, error) {
	o, err := runs.ParseObject(line)
	if err != nil {
		return runs.Run{}, err
	}
	return runs.Merge([]runs.Object{o}, nil, nil, now)
}

// Feedback reads feedback from r and writes it to w.
func Feedback(ctx context.Context, w FeedbackWriter, r io.Reader, source string, opts Options) (Result, error) {
	return load(ctx, r, source, opts, runs.DecodeFeedback, w.InsertFeedback)
}

func load[T any](ctx context.Context, r io.Reader, source string, opts Options,
	decode func([]byte, time.Time) (T, error), insert func(context.Context, []T) error) (Result, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	var res Result
	type numbered struct {
		n    int
		line []byte
	}
	var lines []numbered
	err := eachLine(r, func(n int, line []byte) {
		lines = append(lines, numbered{n, line})
	})
	if err != nil {
		return res, fmt.Errorf("%s: %w", source, err)
	}
	res.Lines = len(lines)

	// Decoding is CPU-bound; spread it over the cores, keeping line order.
	decoded := make([]T, len(lines))
	errs := make([]error, len(lines))
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(lines); i += workers {
				decoded[i], errs[i] = decode(lines[i].line, now())
			}
		}(w)
	}
	wg.Wait()
	rows := decoded[:0]
	var bad []LineError
	for i, err := range errs {
		if err != nil {
			bad = append(bad, LineError{Line: lines[i].n, Err: err})
			continue
		}
		rows = append(rows, decoded[i])
	}
	if len(bad) > 0 && !opts.SkipInvalid {
		return res, &Invalid{Source: source, Lines: bad}
	}
	res.Skipped = bad
	if len(rows) > 0 {
		if err := insert(ctx, rows); err != nil {
			return res, fmt.Errorf("%s: %w", source, err)
		}
	}
	res.Inserted = len(rows)
	return res, nil
}

// eachLine calls fn with every non-blank line and its 1-based number.
func eachLine(r io.Reader, fn func(n int, line []byte)) error {
	br := bufio.NewReaderSize(r, 1<<20)
	for n := 1; ; n++ {
		line, err := readLine(br)
		if len(bytes.TrimSpace(line)) > 0 {
			fn(n, line)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
	}
}

func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, isPrefix, err := br.ReadLine()
		line = append(line, chunk...)
		if len(line) > MaxLineBytes {
			return nil, fmt.Errorf("longer than %d bytes", MaxLineBytes)
		}
		if err != nil || !isPrefix {
			return line, err
		}
	}
}
