package e2e_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/runhook/runhook/internal/config"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/temporal"
	"github.com/runhook/runhook/internal/testenv"
)

// devServer is a Temporal dev server of the test's own, so the test can stop
// and restart it without touching the shared one.
type devServer struct {
	t    *testing.T
	bin  string
	db   string
	port int
	cmd  *exec.Cmd
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newDevServer(t *testing.T) *devServer {
	t.Helper()
	bin, err := filepath.Abs("../../.tools/bin/temporal")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("the Temporal CLI is needed at %s: run `make services` (`make test` builds it)", bin)
	}
	d := &devServer{t: t, bin: bin, db: filepath.Join(t.TempDir(), "temporal.db"), port: freePort(t)}
	t.Cleanup(d.stop)
	return d
}

func (d *devServer) addr() string { return "127.0.0.1:" + strconv.Itoa(d.port) }

// start runs the server on its db file and waits until it answers.
func (d *devServer) start() {
	d.t.Helper()
	d.cmd = exec.Command(d.bin, "server", "start-dev", "--db-filename", d.db, "--ip", "127.0.0.1",
		"--port", strconv.Itoa(d.port), "--headless", "--log-level", "warn")
	d.cmd.Stdout, d.cmd.Stderr = io.Discard, io.Discard
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	waitFor(d.t, 60*time.Second, "the test's Temporal dev server", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		c, err := temporal.Dial(ctx, config.Temporal{Address: d.addr(), Namespace: "default"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
}

// stop ends the server the test started, by its PID.
func (d *devServer) stop() {
	if d.cmd == nil || d.cmd.ProcessState != nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = d.cmd.Process.Kill()
		<-done
	}
}

// Temporal stopped and restarted on the same db file while runs wait for
// feedback: the waits survive, and the runs are delivered once the feedback
// arrives.
func TestTemporalRestartWhileRunsWait(t *testing.T) {
	srv := newDevServer(t)
	srv.start()
	c, err := temporal.Dial(context.Background(), config.Temporal{Address: srv.addr(), Namespace: "default"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	h := newHarnessOn(t, c, "outage", srv.addr(), testenv.ClickHouse(t), "")
	h.startWorker()
	h.mustApply(file(rule("waits", `    feedback: {require: [usefulness], wait: 5m}
`)))
	batch := []runs.Run{h.run(), h.run(), h.run()}
	h.insert(batch...)
	waitFor(t, 60*time.Second, "the runs to wait for feedback", func() bool {
		n, _ := countEvents(h, "waiting")
		return n >= len(batch)
	})

	srv.stop()
	time.Sleep(2 * time.Second)
	srv.start()

	for _, r := range batch {
		h.feedback(r.ID, "usefulness", 1)
	}
	h.waitDelivered(ids(batch...), 3*time.Second)
}

// chServer is a ClickHouse of the test's own (testenv.CHServer), stopped at
// cleanup.
type chServer struct {
	t *testing.T
	*testenv.CHServer
}

func newCHServer(t *testing.T) *chServer {
	t.Helper()
	s, err := testenv.NewCHServer("../..", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	return &chServer{t, s}
}

func (s *chServer) addr() string { return s.Addr() }

func (s *chServer) start() {
	s.t.Helper()
	if err := s.Start(); err != nil {
		s.t.Fatal(err)
	}
}

func (s *chServer) stop() {
	s.t.Helper()
	if err := s.Stop(); err != nil {
		s.t.Fatal(err)
	}
}

// ClickHouse stopped during ticks: ticks fail and retry, the watermark waits,
// and runs stored just before the outage are delivered once it is back.
func TestClickHouseOutageLosesNothing(t *testing.T) {
	ch := newCHServer(t)
	ch.start()
	c, queue := testenv.Temporal(t)
	h := newHarnessOn(t, c, queue, "", testenv.ClickHouseAt(t, ch.addr()), ch.addr())
	h.startWorker()
	h.mustApply(file(rule("outage", "")))
	before := h.run()
	h.insert(before)
	h.waitDelivered(ids(before), time.Second)

	during := h.run()
	h.insert(during) // still inside the settle lag: no tick has read it
	ch.stop()
	time.Sleep(6 * time.Second) // ticks fail meanwhile
	if got := h.recv.got(); got[during.ID] != 0 {
		t.Fatal("a run was delivered while ClickHouse was down")
	}
	ch.start()
	after := h.run()
	h.insert(after)
	h.waitDelivered(ids(before, during, after), 3*time.Second)
}
