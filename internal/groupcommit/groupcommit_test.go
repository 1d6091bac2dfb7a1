package groupcommit

import (
	"context"
	"errors"
	"reflect"
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
func waitQueued(t *testing.T, w *Writer[int], n int) {
	t.Helper()
	g := w.g
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
	g.g.mu.Lock()
	defer g.g.mu.Unlock()
	if g.g.flushing || len(g.g.queue) != 0 {
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

// fakeLookups serves squares of the keys it is asked for, except 13, which it
// does not have, and blocks each lookup until released.
type fakeLookups struct {
	mu      sync.Mutex
	asked   [][]int
	release chan struct{}
	err     error
}

func (f *fakeLookups) read(_ context.Context, keys []int) (map[int]int, error) {
	f.mu.Lock()
	f.asked = append(f.asked, append([]int(nil), keys...))
	f.mu.Unlock()
	<-f.release
	if f.err != nil {
		return nil, f.err
	}
	out := map[int]int{}
	for _, k := range keys {
		if k != 13 {
			out[k] = k * k
		}
	}
	return out, nil
}

func TestReaderSharesOneReadAmongWaitingCallers(t *testing.T) {
	f := &fakeLookups{release: make(chan struct{})}
	r := NewReader(f.read, Options{MaxRows: 100})
	var wg sync.WaitGroup
	got := make([]map[int]int, 4)
	errs := make([]error, 4)
	ask := func(i int, keys ...int) {
		defer wg.Done()
		got[i], errs[i] = r.Read(context.Background(), keys)
	}
	wg.Add(1)
	go ask(0, 1, 2) // read alone, at once
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		f.mu.Lock()
		n := len(f.asked)
		f.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first read did not start")
		}
	}
	wg.Add(3)
	go ask(1, 2, 3)
	go ask(2, 3, 13)
	go ask(3, 4, 4)
	r.g.mu.Lock()
	for len(r.g.queue) < 3 {
		r.g.mu.Unlock()
		time.Sleep(time.Millisecond)
		r.g.mu.Lock()
	}
	r.g.mu.Unlock()
	close(f.release)
	wg.Wait()

	want := []map[int]int{{1: 1, 2: 4}, {2: 4, 3: 9}, {3: 9}, {4: 16}}
	for i := range want {
		if errs[i] != nil || !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("caller %d: %v, %v; want %v", i, got[i], errs[i], want[i])
		}
	}
	// The three waiting callers shared one read of their keys, each once.
	if len(f.asked) != 2 || len(f.asked[1]) != 4 {
		t.Errorf("reads %v, want [1 2] and then 2, 3, 13 and 4 in one", f.asked)
	}
	if m, err := r.Read(context.Background(), nil); err != nil || len(m) != 0 {
		t.Errorf("no keys: %v, %v", m, err)
	}
}

func TestReaderGivesEveryCallerTheReadsError(t *testing.T) {
	f := &fakeLookups{release: make(chan struct{}), err: errors.New("server gone")}
	close(f.release)
	r := NewReader(f.read, Options{})
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if m, err := r.Read(context.Background(), []int{i}); err == nil || m != nil {
				t.Errorf("caller %d: %v, %v; want the read's error", i, m, err)
			}
		}()
	}
	wg.Wait()
}
