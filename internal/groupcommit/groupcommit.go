// Package groupcommit shares one write among concurrent callers. ClickHouse
// pays per INSERT (a part, its materialized views, later merges), so many
// small concurrent writes cost several times one write of their union. A
// caller still returns only once its rows are stored: if the shared write
// fails, every caller in it gets the error, and nothing is acknowledged that
// was not written.
package groupcommit

import (
	"context"
	"sync"
	"time"
)

// Options bound a shared write.
type Options struct {
	// MaxRows flushes a write once it holds this many rows (a single larger
	// call is still written whole). 0 means 5,000.
	MaxRows int
	// Wait is how long the first caller of an idle writer waits for others
	// to join before the write starts. 0 writes at once; callers that arrive
	// while a write is in flight still share the next one, so under load
	// writes group without any wait.
	Wait time.Duration
	// Timeout bounds one write, which serves every caller in it and so runs
	// under none of their contexts. 0 means 2 minutes.
	Timeout time.Duration
}

// Writer writes rows of type T through write, grouping concurrent calls.
type Writer[T any] struct {
	write func(ctx context.Context, rows []T) error
	o     Options

	mu       sync.Mutex
	queue    []*pending[T]
	queued   int
	flushing bool
	full     chan struct{} // closed when the queue reaches MaxRows during a Wait
}

type pending[T any] struct {
	rows []T
	done chan error
}

// New returns a Writer that stores rows with write.
func New[T any](write func(ctx context.Context, rows []T) error, o Options) *Writer[T] {
	if o.MaxRows <= 0 {
		o.MaxRows = 5000
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	return &Writer[T]{write: write, o: o}
}

// Write stores rows, in one write with whatever else is waiting, and returns
// that write's error. A caller that gives up (ctx) may still have its rows
// written; every table written this way tolerates a retry writing them again.
func (w *Writer[T]) Write(ctx context.Context, rows []T) error {
	if len(rows) == 0 {
		return nil
	}
	p := &pending[T]{rows: rows, done: make(chan error, 1)}
	w.mu.Lock()
	w.queue = append(w.queue, p)
	w.queued += len(rows)
	switch {
	case !w.flushing:
		// One flusher at a time, started when there is work and gone when
		// there is none, so an idle writer holds no goroutine.
		w.flushing = true
		w.full = make(chan struct{})
		go w.flush()
	case w.queued >= w.o.MaxRows && w.full != nil:
		close(w.full)
		w.full = nil
	}
	w.mu.Unlock()
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *Writer[T]) flush() {
	if w.o.Wait > 0 {
		w.mu.Lock()
		full := w.full
		w.mu.Unlock()
		if full != nil {
			t := time.NewTimer(w.o.Wait)
			select {
			case <-t.C:
			case <-full:
				t.Stop()
			}
		}
	}
	for {
		w.mu.Lock()
		w.full = nil
		if len(w.queue) == 0 {
			w.flushing = false
			w.mu.Unlock()
			return
		}
		n, k := 0, 0
		for k < len(w.queue) && (k == 0 || n+len(w.queue[k].rows) <= w.o.MaxRows) {
			n += len(w.queue[k].rows)
			k++
		}
		batch := w.queue[:k:k]
		w.queue = append([]*pending[T](nil), w.queue[k:]...)
		w.queued -= n
		w.mu.Unlock()

		all := make([]T, 0, n)
		for _, p := range batch {
			all = append(all, p.rows...)
		}
		ctx, cancel := context.WithTimeout(context.Background(), w.o.Timeout)
		err := w.write(ctx, all)
		cancel()
		for _, p := range batch {
			p.done <- err
		}
	}
}
