package e2e_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/runhook/runhook/internal/runs"
)

// buildWorker compiles bin/worker into the test's temp dir.
func buildWorker(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "worker")
	cmd := exec.Command("go", "build", "-o", bin, "../../worker")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build worker: %v\n%s", err, out)
	}
	return bin
}

// startWorkerProcess runs the worker binary with the harness's config; it is
// killed at cleanup if still running. Its log goes to the test's temp dir.
func (h *harness) startWorkerProcess(bin, name string) *exec.Cmd {
	h.t.Helper()
	logPath := filepath.Join(h.t.TempDir(), name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		h.t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = h.environ
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
