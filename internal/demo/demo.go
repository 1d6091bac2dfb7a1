package demo

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/runs"
)

// Store is where the demo writes; *clickhouse.Store is one.
type Store interface {
	InsertRuns(ctx context.Context, rs []runs.Run) error
	InsertFeedback(ctx context.Context, fs []runs.Feedback) error
}

// Clock is the demo's time: when traces start and when the next batch is due.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now().UTC() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Options configure Run. Zero values take the defaults.
type Options struct {
	Project uuid.UUID // default Project
	Every   time.Duration
	Traces  int // started per batch
	// Duration bounds the demo in clock time; 0 runs until ctx is cancelled.
	Duration time.Duration
	Seed     uint64 // 0: from the clock
	Clock    Clock
	Out      io.Writer // progress; nil discards it
}

// Defaults of Options.
const (
	DefaultEvery  = 2 * time.Second
	DefaultTraces = 2
)

// SlowLLM is the example rule's threshold: llm calls slower than this inside
// a qa_agent trace match slow-llm-calls.
const SlowLLM = 500 * time.Millisecond

// Totals count what a demo wrote.
type Totals struct {
	Batches  int
	Traces   int // started
	Started  int // run versions posted at start
	Finished int // run versions patched at end
	Errors   int // runs finished with an error (a failed step and its root)
	SlowLLM  int // finished llm runs slower than SlowLLM in qa_agent traces
	Feedback int // scores written
	// Left when the demo stopped: runs finished early so none is left
	// pending forever, and scores that were not due yet, dropped.
	FinishedEarly   int
	DroppedFeedback int
}

func (t *Totals) add(o Totals) {
	t.Batches += o.Batches
	t.Traces += o.Traces
	t.Started += o.Started
	t.Finished += o.Finished
	t.Errors += o.Errors
	t.SlowLLM += o.SlowLLM
	t.Feedback += o.Feedback
}

// write is one write the demo has planned: a run version or a score, due at
// a time of the demo's clock.
type write struct {
	due   time.Time
	seq   int // keeps writes due at once in plan order
	run   *runs.Run
	trace string // the root's name, for counting slow qa_agent llm calls
	fb    *runs.Feedback
}

type demo struct {
	store   Store
	gen     *Generator
	eval    *Evaluator
	opts    Options
	planned []write
	seq     int
}

// Run writes traffic to store: every opts.Every it starts opts.Traces traces
// and writes what is due by then (runs posted as they start and patched as
// they end, LangSmith's two versions, and the evaluator's scores), printing a
// line per batch. It stops when ctx is cancelled or opts.Duration has passed,
// then finishes the runs still open, drops the scores not yet due, prints the
// totals and returns them.
func Run(ctx context.Context, store Store, opts Options) (Totals, error) {
	if opts.Project == uuid.Nil {
		opts.Project = Project
	}
	if opts.Every <= 0 {
		opts.Every = DefaultEvery
	}
	if opts.Traces <= 0 {
		opts.Traces = DefaultTraces
	}
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Seed == 0 {
		opts.Seed = uint64(opts.Clock.Now().UnixNano())
	}
	d := &demo{
		store: store, opts: opts,
		gen: NewGenerator(opts.Project, opts.Seed), eval: NewEvaluator(opts.Seed + 1),
	}
	// A batch in flight when the demo is stopped still completes: writes use
	// a context that outlives ctx.
	wctx := context.WithoutCancel(ctx)
	var total Totals
	start := opts.Clock.Now()
	deadline, next := start.Add(opts.Duration), start
	fmt.Fprintf(opts.Out, "demo: project %s, %d traces every %s, seed %d\n", opts.Project, opts.Traces, opts.Every, opts.Seed)
loop:
	for {
		now := opts.Clock.Now()
		b, err := d.batch(wctx, now)
		total.add(b)
		if err != nil {
			return total, err
		}
		open, scores := d.pending()
		fmt.Fprintf(opts.Out, "%s batch %d: +%d traces; runs %d started, %d finished (%d errors, %d slow llm); %d scores; in flight %d runs, %d scores\n",
			now.Format("15:04:05"), total.Batches, b.Traces, b.Started, b.Finished, b.Errors, b.SlowLLM, b.Feedback, open, scores)
		// Batches keep to a grid of opts.Every from the start, however long
		// the writes took.
		next = next.Add(opts.Every)
		if opts.Duration > 0 {
			if !now.Before(deadline) {
				break
			}
			next = minTime(next, deadline)
		}
		select {
		case <-ctx.Done():
			break loop
		case <-opts.Clock.After(max(next.Sub(opts.Clock.Now()), 0)):
		}
	}
	if err := d.finish(wctx, &total); err != nil {
		return total, err
	}
	fmt.Fprintf(opts.Out, "demo stopped after %d batches: %d traces, %d runs finished (%d errors, %d slow llm calls in %s traces), %d %s scores; finished %d open runs early, dropped %d scores not yet due\n",
		total.Batches, total.Traces, total.Finished, total.Errors, total.SlowLLM, QAAgent, total.Feedback, FeedbackKey, total.FinishedEarly, total.DroppedFeedback)
	return total, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// batch starts new traces at now and writes everything due by now.
func (d *demo) batch(ctx context.Context, now time.Time) (Totals, error) {
	t := Totals{Batches: 1, Traces: d.opts.Traces}
	for range d.opts.Traces {
		// Traces start in the interval just gone, so their roots are due now.
		tr := d.gen.Trace(now.Add(-d.gen.between(0, d.opts.Every)))
		d.plan(tr)
	}
	n := 0
	for n < len(d.planned) && !d.planned[n].due.After(now) {
		n++
	}
	due := d.planned[:n]
	d.planned = slices.Clone(d.planned[n:])
	return t, d.write(ctx, due, &t)
}

// plan queues a trace's writes: each run posted at its start and patched at
// its end, and the evaluator's score of the root when it is due.
func (d *demo) plan(tr Trace) {
	name := tr.Root().Name
	for i := range tr.Runs {
		done := tr.Runs[i]
		started := Started(done)
		d.add(write{due: started.StartTime, run: &started, trace: name})
		d.add(write{due: *done.EndTime, run: &done, trace: name})
	}
	if fb, ok := d.eval.Score(tr.Root()); ok {
		d.add(write{due: fb.CreatedAt, fb: &fb})
	}
	slices.SortStableFunc(d.planned, func(a, b write) int {
		return cmp.Or(a.due.Compare(b.due), cmp.Compare(a.seq, b.seq))
	})
}

func (d *demo) add(w write) {
	w.seq = d.seq
	d.seq++
	d.planned = append(d.planned, w)
}

// pending counts the runs planned to finish and the scores planned.
func (d *demo) pending() (open, scores int) {
	for _, w := range d.planned {
		switch {
		case w.fb != nil:
			scores++
		case w.run.EndTime != nil:
			open++
		}
	}
	return open, scores
}

// writeTimeout bounds one batch's inserts: they outlive a stop signal, so
// they need a bound of their own.
const writeTimeout = 30 * time.Second

// write inserts ws, runs first (a score never lands before its run), and counts them into t.
func (d *demo) write(ctx context.Context, ws []write, t *Totals) error {
	var rs []runs.Run
	var fs []runs.Feedback
	for _, w := range ws {
		switch {
		case w.fb != nil:
			fs = append(fs, *w.fb)
			t.Feedback++
		case w.run.EndTime == nil:
			rs = append(rs, *w.run)
			t.Started++
		default:
			rs = append(rs, *w.run)
			t.Finished++
			if w.run.Error != nil {
				t.Errors++
			}
			if w.run.RunType == "llm" && w.trace == QAAgent && Latency(*w.run) > SlowLLM {
				t.SlowLLM++
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	if len(rs) > 0 {
		if err := d.store.InsertRuns(ctx, rs); err != nil {
			return err
		}
	}
	if len(fs) > 0 {
		if err := d.store.InsertFeedback(ctx, fs); err != nil {
			return err
		}
	}
	return nil
}

// finish writes the runs still planned, both versions, so that no trace is
// left pending forever, and drops the scores not yet due.
func (d *demo) finish(ctx context.Context, total *Totals) error {
	var ws []write
	for _, w := range d.planned {
		if w.fb != nil {
			total.DroppedFeedback++
			continue
		}
		if w.run.EndTime != nil {
			total.FinishedEarly++
		}
		ws = append(ws, w)
	}
	d.planned = nil
	var t Totals
	err := d.write(ctx, ws, &t)
	total.add(t)
	return err
}
