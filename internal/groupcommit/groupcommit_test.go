package groupcommit

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// fakeInserts records each insert's size and blocks the first one until
// released, so the requests behind it queue up.
type fakeInserts struct {
	mu      sync.Mutex
	sizes   []int
	release chan struct{}
	err     error
}

func (f *fakeInserts) insert(_ context.Context, rs []int) error {
	f.mu.Lock()
	first := len(f.sizes) == 0
	f.sizes = append(f.sizes, len(rs))
	f.mu.Unlock()
	if first {
		<-f.release
	}
	return f.err
}

func (f *fakeInserts) got() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.sizes...)
}

func someRuns(n int) []int { return make([]int, n) }

// waitQueued waits until n requests wait behind the insert in flight.
func waitQueued(t *testing.T, g *Writer[int], n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		g.mu.Lock()
		q := len(g.queue)
		g.mu.Unlock()
		if q == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests queued, want %d", q, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestWriterJoinsRequestsThatWait(t *testing.T) {
	f := &fakeInserts{release: make(chan struct{})}
	g := New(f.insert, Options{MaxRows: 250})
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	call := func(n int) {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- g.Write(context.Background(), someRuns(n)) }()
	}
	call(100) // written at once, alone
	waitQueued(t, g, 0)
	for len(f.got()) == 0 {
		time.Sleep(time.Millisecond)
	}
	for range 5 {
		call(100) // wait behind it
	}
	waitQueued(t, g, 5)
	close(f.release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// 100 alone, then the five waiting ones in inserts of at most 250 rows.
	got := f.got()
	if len(got) != 4 || got[0] != 100 || got[1] != 200 || got[2] != 200 || got[3] != 100 {
		t.Errorf("insert sizes %v, want [100 200 200 100]", got)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.flushing || len(g.queue) != 0 {
		t.Error("the flusher is still running with nothing to do")
	}
}

func TestWriterGivesEveryRequestTheInsertsError(t *testing.T) {
	f := &fakeInserts{release: make(chan struct{}), err: errors.New("clickhouse is down")}
	g := New(f.insert, Options{MaxRows: 1000})
	close(f.release)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.Write(context.Background(), someRuns(3)); err == nil || err.Error() != "clickhouse is down" {
				t.Errorf("err %v, want the insert's", err)
			}
		}()
	}
	wg.Wait()
}

func TestWriterRequestGivesUp(t *testing.T) {
	f := &fakeInserts{release: make(chan struct{})}
	g := New(f.insert, Options{MaxRows: 1000})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Write(ctx, someRuns(1)) }()
	for len(f.got()) == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
	close(f.release) // the flusher finishes and exits
}

// With a Wait, callers that arrive one after another within it share the
// first write; reaching MaxRows cuts the wait short.
func TestWriterWaitGroupsCallers(t *testing.T) {
	f := &fakeInserts{release: make(chan struct{})}
	close(f.release)
	g := New(f.insert, Options{MaxRows: 10, Wait: time.Hour})
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.Write(context.Background(), someRuns(2)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait() // would take an hour if MaxRows did not end the wait
	if got := f.got(); len(got) != 1 || got[0] != 10 {
		t.Errorf("write sizes %v, want [10]", got)
	}
}

func TestWriterNothingToWrite(t *testing.T) {
	f := &fakeInserts{release: make(chan struct{})}
	g := New(f.insert, Options{})
	if err := g.Write(context.Background(), nil); err != nil || len(f.got()) != 0 {
		t.Errorf("err %v, writes %v", err, f.got())
	}
}
