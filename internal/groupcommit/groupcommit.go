// Package groupcommit shares one write, or one read, among concurrent
// callers. ClickHouse pays per INSERT (a part, its materialized views, later
// merges), so many small concurrent writes cost several times one write of
// their union. A caller still returns only once its rows are stored: if the
// shared write fails, every caller in it gets the error, and nothing is
// acknowledged that was not written. Reads by key pay per part and granule
// touched, which a read of many keys shares: a Reader asks for the union of
// what its callers want, and each gets its own keys' values.
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
type Writer[T any] struct{ g *group[T, struct{}] }

// New returns a Writer that stores rows with write.
func New[T any](write func(ctx context.Context, rows []T) error, o Options) *Writer[T] {
	return &Writer[T]{newGroup(func(ctx context.Context, rows []T) (struct{}, error) {
		return struct{}{}, write(ctx, rows)
	}, o)}
}

// Write stores rows, in one write with whatever else is waiting, and returns
// that write's error. A caller that gives up (ctx) may still have its rows
// written; every table written this way tolerates a retry writing them again.
func (w *Writer[T]) Write(ctx context.Context, rows []T) error {
	if len(rows) == 0 {
		return nil
	}
	_, err := w.g.do(ctx, rows)
	return err
}

// Reader reads values by key through read, grouping concurrent calls; MaxRows
// counts keys.
type Reader[K comparable, V any] struct{ g *group[K, map[K]V] }

// NewReader returns a Reader that looks keys up with read, which returns the
// values of the keys it found.
func NewReader[K comparable, V any](read func(ctx context.Context, keys []K) (map[K]V, error), o Options) *Reader[K, V] {
	return &Reader[K, V]{newGroup(func(ctx context.Context, keys []K) (map[K]V, error) {
		seen := make(map[K]bool, len(keys))
		uniq := keys[:0:0]
		for _, k := range keys {
			if !seen[k] {
				seen[k] = true
				uniq = append(uniq, k)
			}
		}
		return read(ctx, uniq)
	}, o)}
}

// Read returns the values of those of keys that read found, from one read
// with whatever else is waiting.
func (r *Reader[K, V]) Read(ctx context.Context, keys []K) (map[K]V, error) {
	if len(keys) == 0 {
		return map[K]V{}, nil
	}
	all, err := r.g.do(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[K]V, len(keys))
	for _, k := range keys {
		if v, ok := all[k]; ok {
			out[k] = v
		}
	}
	return out, nil
}

// group runs fn once for the items of every caller waiting, and hands each
// the shared result.
type group[T, R any] struct {
	fn func(ctx context.Context, items []T) (R, error)
	o  Options

	mu       sync.Mutex
	queue    []*pending[T, R]
	queued   int
	flushing bool
	full     chan struct{} // closed when the queue reaches MaxRows during a Wait
}

type pending[T, R any] struct {
	items []T
	done  chan result[R]
}

type result[R any] struct {
	r   R
	err error
}

func newGroup[T, R any](do func(ctx context.Context, items []T) (R, error), o Options) *group[T, R] {
	if o.MaxRows <= 0 {
		o.MaxRows = 5000
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	return &group[T, R]{fn: do, o: o}
}

func (g *group[T, R]) do(ctx context.Context, items []T) (R, error) {
	p := &pending[T, R]{items: items, done: make(chan result[R], 1)}
	g.mu.Lock()
	g.queue = append(g.queue, p)
	g.queued += len(items)
	switch {
	case !g.flushing:
		// One flusher at a time, started when there is work and gone when
		// there is none, so an idle group holds no goroutine.
		g.flushing = true
		g.full = make(chan struct{})
		go g.flush()
	case g.queued >= g.o.MaxRows && g.full != nil:
		close(g.full)
		g.full = nil
	}
	g.mu.Unlock()
	select {
	case res := <-p.done:
		return res.r, res.err
	case <-ctx.Done():
		var zero R
		return zero, ctx.Err()
	}
}

func (g *group[T, R]) flush() {
	if g.o.Wait > 0 {
		g.mu.Lock()
		full := g.full
		g.mu.Unlock()
		if full != nil {
			t := time.NewTimer(g.o.Wait)
			select {
			case <-t.C:
			case <-full:
				t.Stop()
			}
		}
	}
	for {
		g.mu.Lock()
		g.full = nil
		if len(g.queue) == 0 {
			g.flushing = false
			g.mu.Unlock()
			return
		}
		n, k := 0, 0
		for k < len(g.queue) && (k == 0 || n+len(g.queue[k].items) <= g.o.MaxRows) {
			n += len(g.queue[k].items)
			k++
		}
		batch := g.queue[:k:k]
		g.queue = append([]*pending[T, R](nil), g.queue[k:]...)
		g.queued -= n
		g.mu.Unlock()

		all := make([]T, 0, n)
		for _, p := range batch {
			all = append(all, p.items...)
		}
		ctx, cancel := context.WithTimeout(context.Background(), g.o.Timeout)
		r, err := g.fn(ctx, all)
		cancel()
		for _, p := range batch {
			p.done <- result[R]{r, err}
		}
	}
}
