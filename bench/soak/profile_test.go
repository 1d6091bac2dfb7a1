package main

import (
	"strings"
	"testing"
)

const profileA = `goroutine profile: total 5
3 @ 0x1 0x2 0x3
#	0x1	runtime.gopark+0x10	/go/src/runtime/proc.go:1
#	0x2	net/http.(*persistConn).readLoop+0x20	/go/src/net/http/transport.go:2
#	0x3	runtime.goexit+0x1	/go/src/runtime/asm.s:3

2 @ 0x1 0x4 0x5
#	0x1	runtime.gopark+0x10	/go/src/runtime/proc.go:1
#	0x4	go.temporal.io/sdk/internal.(*baseWorker).runPoller+0x30	/x.go:4
#	0x5	runtime.goexit+0x1	/go/src/runtime/asm.s:3
`

const profileB = `goroutine profile: total 9
7 @ 0x1 0x2 0x3
#	0x1	runtime.gopark+0x10	/go/src/runtime/proc.go:1
#	0x2	net/http.(*persistConn).readLoop+0x20	/go/src/net/http/transport.go:2
#	0x3	runtime.goexit+0x1	/go/src/runtime/asm.s:3

2 @ 0x1 0x4 0x5
#	0x1	runtime.gopark+0x10	/go/src/runtime/proc.go:1
#	0x4	go.temporal.io/sdk/internal.(*baseWorker).runPoller+0x30	/x.go:4
#	0x5	runtime.goexit+0x1	/go/src/runtime/asm.s:3
`

func TestGoroutineProfileGrowth(t *testing.T) {
	a, err := parseGoroutineProfile(profileA)
	if err != nil {
		t.Fatal(err)
	}
	b, err := parseGoroutineProfile(profileB)
	if err != nil {
		t.Fatal(err)
	}
	if a.total != 5 || b.total != 9 {
		t.Fatalf("totals %d, %d; want 5, 9", a.total, b.total)
	}
	const conn = "net/http.(*persistConn).readLoop <- net/http.(*persistConn).readLoop"
	if a.stacks[conn] != 3 || a.stacks["go.temporal.io/sdk/internal.(*baseWorker).runPoller <- go.temporal.io/sdk/internal.(*baseWorker).runPoller"] != 2 {
		t.Fatalf("stacks of a: %v", a.stacks)
	}
	g := grew(a, b)
	if len(g) != 1 || g[0] != (growth{conn, 3, 7}) {
		t.Errorf("grew = %+v, want only the connections, 3 -> 7", g)
	}
	if _, err := parseGoroutineProfile("goroutine profile: total x\n"); err == nil {
		t.Error("a bad total was read")
	}
}

// Cached workflows may grow under load and connections stay open idle; any
// other growth, or goroutines left once idle, is a leak.
func TestGoroutinesJudgedByStack(t *testing.T) {
	const (
		wf    = "go.temporal.io/sdk/internal.(*coroutineState).initialYield <- go.temporal.io/sdk/internal.(*coroutineState).run"
		conn  = "net.(*netFD).Read <- net/http.(*persistConn).readLoop"
		other = "github.com/runhook/runhook/internal/delivery.(*Sender).send <- x"
	)
	prof := func(w, c, o int) *goroutineProfile {
		return &goroutineProfile{total: w + c + o, stacks: map[string]int{wf: w, conn: c, other: o}}
	}
	res := &result{profiles: map[string]*goroutineProfile{
		"before": prof(2, 0, 55), "first": prof(60, 10, 100), "last": prof(300, 16, 110), "idle": prof(4, 12, 56),
	}}
	if errs := res.goroutinesFlat(); len(errs) != 0 {
		t.Errorf("a backlog of workflows and idle connections judged a leak: %v", errs)
	}
	res.profiles["idle"] = prof(2, 12, 200)
	if errs := res.goroutinesFlat(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "leaked") {
		t.Errorf("goroutines left idle: %v", errs)
	}
	res.profiles["idle"], res.profiles["last"] = prof(2, 0, 55), prof(60, 10, 400)
	if errs := res.goroutinesFlat(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "grew under load") {
		t.Errorf("goroutines grown under load outside workflows: %v", errs)
	}
	delete(res.profiles, "idle")
	if errs := res.goroutinesFlat(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "after the drain") {
		t.Errorf("no idle profile: %v", errs)
	}
}
