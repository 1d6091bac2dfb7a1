package main

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/runhook/runhook/bench/internal/report"
	"github.com/runhook/runhook/bench/internal/rig"
)

// warmup is how long after its start a worker's samples are left out: a
// fresh worker is still filling its caches and pollers.
const warmup = 8 * time.Second

// flat compares the worker's samples in the last third of the load with the
// first third: the peak may grow by half plus a margin (RSS 32 MiB,
// goroutines 100), which a leak over the run would exceed.
func (res *result) flat() (rssFirst, rssLast uint64, gFirst, gLast int, enough bool) {
	third := res.took / 3
	var nFirst, nLast int
	for _, s := range res.samples {
		if s.age < warmup {
			continue
		}
		switch {
		case s.at <= third:
			nFirst++
			rssFirst, gFirst = max(rssFirst, s.rssKB), max(gFirst, s.goroutines)
		case s.at >= res.took-third:
			nLast++
			rssLast, gLast = max(rssLast, s.rssKB), max(gLast, s.goroutines)
		}
	}
	return rssFirst, rssLast, gFirst, gLast, nFirst >= 2 && nLast >= 2
}

func rssFlat(first, last uint64) bool     { return last <= first+first/2+32*1024 }
func goroutinesFlat(first, last int) bool { return last <= first+first/2+100 }

func (res *result) print(out *report.Doc) {
	o := res.o
	fmt.Printf("soak: %d traces (%d runs) through POST /runs/batch over %.0f s at %.0f runs/s, %d run-completion webhooks; worker killed %d times (every %s); ClickHouse restarted %d times (down %.1f s; %d API answers 5xx/425 sent again); fault mix %s; %d cores, %s\n",
		res.traces, res.runs, res.took.Seconds(), o.rate, res.runHooks, res.kills, o.killEvery, res.chRestarts, res.chDown.Seconds(),
		res.retried.Load(), formatMix(o.mix), runtime.NumCPU(), runtime.Version())
	fmt.Printf("phases: setup %.0f s, load %.0f s, drain %.0f s (until every matched run has its outcome)\n",
		res.setup.Seconds(), res.took.Seconds(), res.drain.Seconds())
	for name, a := range map[string]map[behaviour]int{"rule": res.answers, "run-completion": res.runAnswers} {
		fmt.Printf("faulty %s receiver answered: ok %d, 5xx %d, slow %d, reset %d\n",
			name, a[answerOK], a[answer5xx], a[answerSlow], a[answerReset])
	}
	fmt.Printf("%-18s %8s %10s %7s %8s  %s\n", "hook", "matched", "delivered", "failed", "skipped", "balanced")
	for _, l := range res.ledgers {
		fmt.Printf("%-18s %8d %10d %7d %8d  %v\n", l.hook.name, l.matched, l.delivered, l.failed, l.skipped, l.balanced())
	}
	for name, n := range res.dups {
		if n > 0 {
			fmt.Printf("DUPLICATE: %d runs reached %s under more than one webhook-id (e.g. %s)\n", n, name, res.dupRun[name])
		}
	}
	rf, rl, gf, gl, _ := res.flat()
	fmt.Printf("worker: RSS peak %.1f MiB in the first third, %.1f MiB in the last; goroutines %d, then %d (%d samples)\n",
		float64(rf)/1024, float64(rl)/1024, gf, gl, len(res.samples))
	p99 := func(ds []time.Duration) time.Duration { return rig.Pct(ds, 0.99).Round(time.Millisecond) }
	fmt.Printf("fast receiver, API answered -> arrival, runs of the first third (no kills): p99 %s alone (%d runs), p99 %s beside a hanging receiver (%d runs)\n",
		p99(res.alone), len(res.alone), p99(res.withHang), len(res.withHang))
	out.Add("traces", float64(res.traces), "traces")
	out.Add("worker kills", float64(res.kills), "kills")
	out.Add("ClickHouse restarts", float64(res.chRestarts), "restarts")
	out.Add("fast p99 alone", rig.Pct(res.alone, 0.99).Seconds(), "s")
	out.Add("fast p99 beside hang", rig.Pct(res.withHang, 0.99).Seconds(), "s")
	out.Add("worker RSS last third", float64(rl)/1024, "MiB")
	out.Add("worker goroutines last third", float64(gl), "goroutines")
	out.Note("Each trace's root is matched by four rules (one behind a feedback gate, one beside a hanging receiver) and has a run-completion webhook; the faulty receiver answers %s. ClickHouse (the soak's own) is restarted once, half-way.", formatMix(o.mix))
}

// check is the soak's three invariants. The fast receivers' p99 alone and
// beside a hanging one is printed, not asserted: on a shared machine two
// runs of the same soak differed by 10 s in either direction, more than the
// delivery timeout a shared tick would add.
func (res *result) check() error {
	var errs []error
	if res.o.restartCH && res.chRestarts != 1 {
		errs = append(errs, fmt.Errorf("ClickHouse was restarted %d times, want once", res.chRestarts))
	}
	if !res.drained {
		errs = append(errs, errors.New("not every matched run got an outcome within 3 minutes of the load's end"))
	}
	for _, l := range res.ledgers {
		if !l.balanced() {
			errs = append(errs, fmt.Errorf("%s: matched %d != delivered %d + failed %d + skipped %d", l.hook.name, l.matched, l.delivered, l.failed, l.skipped))
		}
		if l.matched == 0 {
			errs = append(errs, fmt.Errorf("%s: nothing matched", l.hook.name))
		}
	}
	for name, n := range res.dups {
		if n > 0 {
			errs = append(errs, fmt.Errorf("%s: %d runs delivered under more than one webhook-id (e.g. %s)", name, n, res.dupRun[name]))
		}
	}
	rf, rl, gf, gl, enough := res.flat()
	switch {
	case !enough:
		errs = append(errs, fmt.Errorf("too few worker samples past warm-up to judge flatness (%d in all); run longer or kill less often", len(res.samples)))
	case !rssFlat(rf, rl):
		errs = append(errs, fmt.Errorf("worker RSS grew: peak %d kB in the first third, %d kB in the last", rf, rl))
	case !goroutinesFlat(gf, gl):
		errs = append(errs, fmt.Errorf("worker goroutines grew: peak %d in the first third, %d in the last", gf, gl))
	}
	return errors.Join(errs...)
}
