// Command soak runs the whole product for a while under load and faults:
// SDK-shaped traces through bin/server's POST /runs/batch at a steady rate,
// rules with and without a feedback gate, run-completion webhooks, receivers
// that answer 5xx, slowly, with a reset or not at all (refused, hanging), and
// the worker process killed (SIGKILL) and restarted on a period. It then
// checks that every matched run has an outcome (delivered, failed or
// skipped), that no run reached a webhook under two webhook-ids, and that
// the worker's RSS and goroutines stayed flat; and it compares the p99 of a
// fast receiver alone with one whose rule also posts to a hanging receiver.
// ClickHouse is restarted once, half-way: the soak runs a ClickHouse
// server of its own (scripts/services.sh, in a temporary data dir).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/runhook/runhook/bench/internal/report"
)

func main() {
	o := defaults()
	flag.DurationVar(&o.duration, "duration", o.duration, "how long traffic is offered")
	flag.Float64Var(&o.rate, "rate", o.rate, "runs offered per second (whole traces of synth.TraceSize runs)")
	flag.DurationVar(&o.killEvery, "kill-every", o.killEvery, "SIGKILL the worker and start another this often; 0 never")
	mix := flag.String("mix", formatMix(o.mix), "the faulty receiver's answers by weight: ok, 5xx, slow (past the delivery timeout), reset, refused (a closed port)")
	flag.Float64Var(&o.feedback, "feedback", o.feedback, "share of traces given the feedback the gated rule waits for")
	flag.BoolVar(&o.restartCH, "restart-clickhouse", o.restartCH, "run a ClickHouse of the soak's own and restart it once, half-way")
	flag.StringVar(&o.profiles, "profiles", o.profiles, "write the worker's goroutine profiles (before, first third, last third, idle after the drain) to this directory")
	jsonPath := flag.String("json", "", "also write the headline figures to this file as JSON (bench/report reads it)")
	flag.Parse()
	var err error
	if o.mix, err = parseMix(*mix); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	out := report.Start("soak", "the product under load and faults", flag.CommandLine)
	res, err := run(context.Background(), o)
	if err == nil {
		res.print(out)
		err = res.check()
	}
	if err == nil {
		err = out.Write(*jsonPath)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// options are the soak's knobs.
type options struct {
	duration  time.Duration
	rate      float64
	killEvery time.Duration
	mix       map[string]int
	feedback  float64
	restartCH bool
	profiles  string
}

// defaults offer 10 runs/s: what this 2-core machine takes with every
// service on it and latency flat. At 20 the machine ran 1.8-2.0 cores busy
// with no fault at all, ClickHouse 1.1 of them, and deliveries fell further
// behind each minute, so goroutines and memory grew with the backlog and
// could not tell a leak (bench/RESULTS.md).
func defaults() options {
	return options{duration: 5 * time.Minute, rate: 10, killEvery: 45 * time.Second, feedback: 0.5, restartCH: true,
		mix: map[string]int{"ok": 60, "5xx": 15, "slow": 5, "reset": 10, "refused": 10}}
}

var mixKeys = []string{"ok", "5xx", "slow", "reset", "refused"}

func parseMix(s string) (map[string]int, error) {
	out := map[string]int{}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n < 0 || !contains(mixKeys, k) {
			return nil, fmt.Errorf("-mix: %q is not one of %s = a weight", part, strings.Join(mixKeys, ", "))
		}
		out[k] = n
	}
	return out, nil
}

func formatMix(m map[string]int) string {
	var parts []string
	for _, k := range mixKeys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, ",")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
