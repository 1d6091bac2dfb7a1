package main

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/runhook/runhook/bench/internal/report"
	"github.com/runhook/runhook/internal/testenv"
)

// TestSoakShort is the soak's short form, which `make test` runs: 30 s of
// load (RUNHOOK_SOAK_DURATION sets another), the worker killed once after
// the quiet first third and ClickHouse restarted half-way, and the
// invariants asserted. About 75 s in all on an idle machine: setup (a
// ClickHouse of its own), the drain and the idle count are fixed costs.
func TestSoakShort(t *testing.T) {
	if testing.Short() {
		t.Skip("the soak takes over a minute")
	}
	// Fail with the services' own message when they are missing.
	testenv.ClickHouse(t)
	testenv.Temporal(t)
	o := defaults()
	o.duration, o.killEvery = 30*time.Second, 20*time.Second
	if d := os.Getenv("RUNHOOK_SOAK_DURATION"); d != "" {
		var err error
		if o.duration, err = time.ParseDuration(d); err != nil {
			t.Fatalf("RUNHOOK_SOAK_DURATION: %v", err)
		}
	}
	t.Chdir("../..") // rig.Build builds ./worker and ./server from the module root
	res, err := run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	res.print(report.Start("soak", "short form", nil))
	if err := res.check(); err != nil {
		t.Fatal(err)
	}
}

func TestParseMix(t *testing.T) {
	m, err := parseMix("ok=5, 5xx=1,refused=2")
	if err != nil || m["ok"] != 5 || m["5xx"] != 1 || m["refused"] != 2 || m["slow"] != 0 {
		t.Fatalf("parseMix = %v, %v", m, err)
	}
	if got := formatMix(m); got != "ok=5,5xx=1,slow=0,reset=0,refused=2" {
		t.Errorf("formatMix = %q", got)
	}
	for _, bad := range []string{"ok", "ok=x", "ok=-1", "teapot=3"} {
		if _, err := parseMix(bad); err == nil {
			t.Errorf("parseMix(%q) accepted", bad)
		}
	}
}

func TestFlat(t *testing.T) {
	res := &result{took: 30 * time.Second}
	for i := 0; i < 15; i++ {
		at := time.Duration(i) * 2 * time.Second
		res.samples = append(res.samples, sample{at: at, age: at + warmup, rssKB: 40 << 10, goroutines: 100 + i})
	}
	rf, rl, gf, gl, enough := res.flat()
	if !enough || !rssFlat(rf, rl) || !goroutinesFlat(gf, gl) {
		t.Fatalf("steady samples judged not flat: %d %d %d %d %v", rf, rl, gf, gl, enough)
	}
	if goroutinesFlat(100, 400) || rssFlat(40<<10, 200<<10) {
		t.Error("a leak judged flat")
	}
}
