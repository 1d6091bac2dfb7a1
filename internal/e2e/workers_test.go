package e2e_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/runhook/runhook/internal/runs"
)

// buildWorker compiles bin/worker into the test's temp dir.
func buildWorker(t *testing.T) string { return buildBinary(t, "worker") }

// buildBinary compiles one of the mains (worker, server) into the test's temp dir.
func buildBinary(t *testing.T, name string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("go", "build", "-o", bin, "../../"+name)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, out)
	}
	return bin
}

// startWorkerProcess runs the worker binary with the harness's config; it is
// killed at cleanup if still running. Its log goes to the test's temp dir.
func (h *harness) startWorkerProcess(bin, name string) *exec.Cmd { return h.startProcess(bin, name) }

// startProcess runs a binary with the harness's config and env added; it is
// stopped at cleanup if still running, and its log, in the test's temp dir,
// is shown if the test failed.
func (h *harness) startProcess(bin, name string, env ...string) *exec.Cmd {
	h.t.Helper()
	logPath := filepath.Join(h.t.TempDir(), name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		h.t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(append([]string(nil), h.environ...), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
		}
		logFile.Close()
		if h.t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				h.t.Logf("%s log:\n%s", name, b)
			}
		}
	})
	return cmd
}

func TestWorkerKilledWhileRunsWaitStillDeliversEachRunOnce(t *testing.T) {
	h := newHarness(t)
	// Pages of 3 runs: ten wait workflows, spread over both workers.
	h.environ = append(h.environ, "RUNHOOK_RULES_PAGE_SIZE=3")
	bin := buildWorker(t)
	first := h.startWorkerProcess(bin, "worker-1")
	h.startWorkerProcess(bin, "worker-2")

	h.mustApply(file(rule("gated", `    feedback: {require: [usefulness], wait: 5m}
`)))
	var batch []runs.Run
	for i := 0; i < 30; i++ {
		batch = append(batch, h.run())
	}
	h.insert(batch...)
	waitFor(t, 60*time.Second, "every run to wait for feedback", func() bool {
		n, _ := countEvents(h, "waiting")
		return n >= len(batch)
	})

	// SIGKILL: no graceful shutdown, whatever it held is abandoned mid-flight.
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()

	for _, r := range batch {
		h.feedback(r.ID, "usefulness", 1)
	}
	waitFor(t, 150*time.Second, "deliveries after the kill", func() bool { return len(h.recv.got()) == len(batch) })
	time.Sleep(3 * time.Second)
	h.assertExactly(ids(batch...))
}

// A worker SIGKILLed while deliveries are in flight: after a new worker
// starts, every matched run arrives, and none in two different deliveries.
// A POST the dead worker sent but could not record may arrive again under
// the same webhook-id, which is what receivers deduplicate on.
func TestWorkerKilledMidDeliveryThenRestarted(t *testing.T) {
	h := newHarness(t)
	h.environ = append(h.environ, "RUNHOOK_RULES_PAGE_SIZE=2", "RUNHOOK_DELIVERY_MAX_RUNS_PER_DELIVERY=1")
	bin := buildWorker(t)
	first := h.startWorkerProcess(bin, "worker-1")
	h.recv.slow(1500 * time.Millisecond) // deliveries stay in flight long enough to be cut
	h.mustApply(file(rule("interrupted", "")))
	var batch []runs.Run
	for i := 0; i < 12; i++ {
		batch = append(batch, h.run())
	}
	h.insert(batch...)
	waitFor(t, 60*time.Second, "the first deliveries to arrive", func() bool { return len(h.recv.got()) >= 2 })
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	if n := len(h.recv.got()); n >= len(batch) {
		t.Fatalf("all %d runs arrived before the kill; the test did not cut deliveries", n)
	}

	h.startWorkerProcess(bin, "worker-2")
	waitFor(t, 150*time.Second, "every run after the restart", func() bool { return len(h.recv.got()) == len(batch) })
	// The dead worker's activities come back only after their timeout; wait
	// until no delivery is open, so a second delivery of a run could not hide.
	waitFor(t, 150*time.Second, "every delivery workflow to close", func() bool {
		n, err := h.client.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{
			Query: "TaskQueue = '" + h.queue + "' AND ExecutionStatus = 'Running' AND WorkflowType IN ('Delivery', 'DeliverRuns')",
		})
		return err == nil && n.Count == 0
	})
	for _, r := range batch {
		if n := h.recv.distinct()[r.ID]; n != 1 {
			t.Errorf("run %s arrived in %d deliveries, want 1", r.ID, n)
		}
	}
}

// A worker SIGKILLed while its group-commit writers hold rows: with
// clickhouse.commit_wait at its maximum, the attempts and outcomes of the
// POSTs it just made wait a second for their shared INSERT, and the kill
// loses them. No activity returned before its rows were stored, so Temporal
// runs those activities again on the new worker; every run then arrives in
// exactly one delivery (a POST sent twice carries the same webhook-id) and
// its outcome is stored.
func TestWorkerKilledWithAGroupCommitInFlight(t *testing.T) {
	h := newHarness(t)
	h.environ = append(h.environ, "RUNHOOK_CLICKHOUSE_COMMIT_WAIT=1s", "RUNHOOK_RULES_PAGE_SIZE=20",
		"RUNHOOK_DELIVERY_MAX_RUNS_PER_DELIVERY=1")
	bin := buildWorker(t)
	first := h.startWorkerProcess(bin, "worker-1")
	h.mustApply(file(rule("group-committed", "")))
	var batch []runs.Run
	for i := 0; i < 20; i++ {
		batch = append(batch, h.run())
	}
	h.insert(batch...)
	waitFor(t, 60*time.Second, "the first deliveries to arrive", func() bool { return len(h.recv.got()) >= 1 })
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	rule := ruleID(t, h, "group-committed")
	ctx := context.Background()
	stored, err := h.store.Outcomes(ctx, rule, ids(batch...))
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) >= len(batch) {
		t.Fatalf("all %d outcomes were stored before the kill; no commit was in flight", len(stored))
	}

	h.startWorkerProcess(bin, "worker-2")
	waitFor(t, 150*time.Second, "every run's outcome after the restart", func() bool {
		out, err := h.store.Outcomes(ctx, rule, ids(batch...))
		return err == nil && len(out) == len(batch)
	})
	out, err := h.store.Outcomes(ctx, rule, ids(batch...))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out {
		if o.Outcome != "delivered" {
			t.Errorf("run %s: outcome %s, want delivered", o.RunID, o.Outcome)
		}
	}
	for _, r := range batch {
		if n := h.recv.distinct()[r.ID]; n != 1 {
			t.Errorf("run %s arrived in %d deliveries, want 1", r.ID, n)
		}
	}
}
