package main

import (
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
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

// busyByThird is the machine's busy cores in each third of the load.
func (res *result) busyByThird() string {
	var parts []string
	for i := range 3 {
		from, to := res.took*time.Duration(i)/3, res.took*time.Duration(i+1)/3
		var a, b *sample
		for j := range res.samples {
			s := &res.samples[j]
			if s.busy == 0 || s.at < from || s.at > to {
				continue
			}
			if a == nil {
				a = s
			}
			b = s
		}
		if a == nil || b == a {
			parts = append(parts, "?")
			continue
		}
		parts = append(parts, fmt.Sprintf("%.2f", (b.busy-a.busy)/(b.at-a.at).Seconds()))
	}
	return strings.Join(parts, " / ")
}

func rssFlat(first, last uint64) bool     { return last <= first+first/2+32*1024 }
func goroutinesFlat(first, last int) bool { return last <= first+first/2+100 }

// idleFlat is tighter: idle, nothing should be left but a tick or two in
// flight, while a leak of one goroutine a tick would leave hundreds.
func idleFlat(before, after int) bool { return after <= before+before/4+20 }

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
	fmt.Printf("worker idle: %d goroutines before the load, %d after the drain\n", res.before, res.idle)
	for _, pair := range [][2]string{{"first", "last"}, {"before", "idle"}} {
		a, b := res.profiles[pair[0]], res.profiles[pair[1]]
		if a == nil || b == nil {
			continue
		}
		g := grew(a, b)
		fmt.Printf("goroutines by stack, %s (%d) -> %s (%d): %d stacks grew\n", pair[0], a.total, pair[1], b.total, len(g))
		for _, x := range g[:min(8, len(g))] {
			fmt.Printf("  %4d -> %4d  %s\n", x.from, x.to, x.stack)
		}
	}
	fmt.Printf("machine busy: %s cores by third of the load\n", res.busyByThird())
	if len(res.cpuFirst) > 0 {
		names := slices.Sorted(maps.Keys(res.cpuFirst))
		fmt.Print("cores busy in the first third:")
		for _, n := range names {
			fmt.Printf(" %s %.2f;", n, res.cpuFirst[n])
		}
		fmt.Println()
	}
	fmt.Print("fast receiver p50/p99 by tenth of the load:")
	for _, ds := range res.aloneBy {
		slices.Sort(ds)
		fmt.Printf(" %.1f/%.1f", rig.Pct(ds, 0.5).Seconds(), rig.Pct(ds, 0.99).Seconds())
	}
	fmt.Println(" s")
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
	rf, rl, _, _, enough := res.flat()
	switch {
	case !enough:
		errs = append(errs, fmt.Errorf("too few worker samples past warm-up to judge flatness (%d in all); run longer or kill less often", len(res.samples)))
	case !rssFlat(rf, rl):
		errs = append(errs, fmt.Errorf("worker RSS grew: peak %d kB in the first third, %d kB in the last", rf, rl))
	}
	errs = append(errs, res.goroutinesFlat()...)
	return errors.Join(errs...)
}

// goroutinesFlat judges goroutines by what they wait on. A leak is what
// stays once the work is done: so the worker idle after the drain is held
// to its level idle before the load, kept-alive connections left out. Under
// load the last third's peak is held to the first's, cached workflows left
// out: those are work in flight, which after kills and the ClickHouse
// restart is a backlog the idle count shows released, not a leak (the 5-minute
// soak at 0b1e9a1 failed a check on the raw count, 203 then 420, with the
// growth all workflows waiting on deliveries; bench/RESULTS.md).
func (res *result) goroutinesFlat() []error {
	p := res.profiles
	for _, name := range []string{"before", "first", "last", "idle"} {
		if p[name] == nil {
			return []error{fmt.Errorf("no goroutine profile of the worker %s; cannot judge its goroutines", profileWhen[name])}
		}
	}
	var errs []error
	bw, _, br := p["before"].split()
	iw, _, ir := p["idle"].split()
	if before, idle := bw+br, iw+ir; !idleFlat(before, idle) {
		errs = append(errs, fmt.Errorf("worker goroutines leaked: %d idle before the load, %d idle after the drain (connections left out)", before, idle))
	}
	fw, fc, fr := p["first"].split()
	lw, lc, lr := p["last"].split()
	if first, last := fc+fr, lc+lr; !goroutinesFlat(first, last) {
		errs = append(errs, fmt.Errorf("worker goroutines grew under load: peak %d in the first third, %d in the last (cached workflows left out: %d, then %d)", first, last, fw, lw))
	}
	return errs
}

var profileWhen = map[string]string{"before": "before the load", "first": "in the first third", "last": "in the last third", "idle": "after the drain"}
