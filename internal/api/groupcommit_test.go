package api

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/runs"
)

// fakeInserts records each insert's size and blocks the first one until
// released, so the requests behind it queue up.
type fakeInserts struct {
	mu      sync.Mutex
	sizes   []int
	release chan struct{}
	err     error
}

func (f *fakeInserts) insert(_ context.Context, rs []runs.Run) error {
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

func someRuns(n int) []runs.Run {
	rs := make([]runs.Run, n)
	for i := range rs {
		rs[i].ID = uuid.New()
	}
	return rs
}

// waitQueued waits until n requests wait behind the insert in flight.
func waitQueued(t *testing.T, g *groupCommit, n int) {
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

func TestGroupCommitJoinsRequestsThatWait(t *testing.T) {
	f := &fakeInserts{release: make(chan struct{})}
	g := newGroupCommit(f.insert, 250)
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	call := func(n int) {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- g.InsertRuns(context.Background(), someRuns(n)) }()
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

func TestGroupCommitGivesEveryRequestTheInsertsError(t *testing.T) {
	f := &fakeInserts{release: make(chan struct{}), err: errors.New("clickhouse is down")}
	g := newGroupCommit(f.insert, 1000)
	close(f.release)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.InsertRuns(context.Background(), someRuns(3)); err == nil || err.Error() != "clickhouse is down" {
				t.Errorf("err %v, want the insert's", err)
			}
		}()
	}
	wg.Wait()
}

func TestGroupCommitRequestGivesUp(t *testing.T) {
	f := &fakeInserts{release: make(chan struct{})}
	g := newGroupCommit(f.insert, 1000)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.InsertRuns(ctx, someRuns(1)) }()
	for len(f.got()) == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
	close(f.release) // the flusher finishes and exits
}
