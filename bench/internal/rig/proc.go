package rig

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/runhook/runhook/internal/testenv"
	enumspb "go.temporal.io/api/enums/v1"
)

// Build builds the command ./<name> (worker, server) into dir and returns
// the binary's path: the benches run the checkout's code as separate
// processes, not whatever binary happens to be in bin/.
func Build(ctx context.Context, dir, name string) (string, error) {
	bin := filepath.Join(dir, name)
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./"+name)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("build %s: %w", name, err)
	}
	return bin, nil
}

// Binary is given when the bench was handed a binary (-worker, -server), or
// else Build's.
func Binary(ctx context.Context, given, dir, name string) (string, error) {
	if given != "" {
		return given, nil
	}
	return Build(ctx, dir, name)
}

// Terminate asks a process the bench started to finish (SIGTERM), kills it
// after 30 s, and waits until done is closed.
func Terminate(p *os.Process, done <-chan struct{}) {
	_ = p.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = p.Kill()
		<-done
	}
}

// Worker is a worker process the bench started on the rig's queue.
type Worker struct {
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	err  error
}

// StartWorker runs bin with the rig's configuration, its output in logPath.
func (r *Rig) StartWorker(bin, logPath string) (*Worker, error) { return r.Start(bin, logPath) }

// Start runs bin (a worker, the API server) with the rig's configuration
// and env on top, its output in logPath.
func (r *Rig) Start(bin, logPath string, env ...string) (*Worker, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin)
	cmd.Env = append(append(passEnv(), r.Env...), env...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start worker: %w", err)
	}
	w := &Worker{cmd: cmd, log: log, done: make(chan struct{})}
	go func() { w.err = cmd.Wait(); close(w.done) }()
	return w, nil
}

// passEnv hands a worker the process environment minus RUNHOOK_*, which the
// rig sets.
func passEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RUNHOOK_") {
			out = append(out, kv)
		}
	}
	return out
}

// Pid is the worker's process id.
func (w *Worker) Pid() int { return w.cmd.Process.Pid }

// Exited is closed when the worker's process has ended; Err says how.
func (w *Worker) Exited() <-chan struct{} { return w.done }

// Err is the process's exit error, once Exited is closed.
func (w *Worker) Err() error { return w.err }

// Stop asks the worker to finish (SIGTERM), kills it after 30 s, and waits
// for it to end.
func (w *Worker) Stop() {
	Terminate(w.cmd.Process, w.done)
	w.log.Close()
}

// WaitPolling waits until every one of the workers polls the rig's queue for
// both workflow and activity tasks, so a measurement does not time their start.
func (r *Rig) WaitPolling(ctx context.Context, workers []*Worker, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		missing := 0
		for _, kind := range []enumspb.TaskQueueType{enumspb.TASK_QUEUE_TYPE_WORKFLOW, enumspb.TASK_QUEUE_TYPE_ACTIVITY} {
			resp, err := r.Client.DescribeTaskQueue(ctx, r.Queue, kind)
			if err != nil {
				return err
			}
			for _, w := range workers {
				// The SDK's default identity starts with the process id.
				prefix := fmt.Sprintf("%d@", w.Pid())
				found := false
				for _, p := range resp.GetPollers() {
					found = found || strings.HasPrefix(p.GetIdentity(), prefix)
				}
				if !found {
					missing++
				}
			}
		}
		if missing == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d worker pollers not seen on %s after %s", missing, r.Queue, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// ServicePIDs are the Temporal dev server's and ClickHouse's process ids, as
// scripts/services.sh recorded them (absent when another process runs them).
func ServicePIDs() map[string]int {
	out := map[string]int{}
	for name, file := range map[string]string{"temporal": ".data/temporal.pid", "clickhouse": ".data/clickhouse.pid"} {
		if b, err := os.ReadFile(file); err == nil {
			if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				out[name] = p
			}
		}
	}
	return out
}

// Machine is the name CPUMeter gives the whole machine's busy time.
const Machine = "machine (all processes)"

// CPUMeter measures how many cores named groups of processes, and the whole
// machine, kept busy on average between Mark and Since.
type CPUMeter struct {
	groups  map[string][]int
	startAt time.Time
	start   map[string]float64
}

// NewCPUMeter meters each group of process ids under its name.
func NewCPUMeter(groups map[string][]int) *CPUMeter { return &CPUMeter{groups: groups} }

func (m *CPUMeter) now() map[string]float64 {
	out := map[string]float64{}
	for name, pids := range m.groups {
		var sum float64
		ok := false
		for _, pid := range pids {
			if s, found := ProcCPU(pid); found {
				sum, ok = sum+s, true
			}
		}
		if ok {
			out[name] = sum
		}
	}
	if s, ok := MachineCPU(); ok {
		out[Machine] = s
	}
	return out
}

// Mark starts the count.
func (m *CPUMeter) Mark() { m.startAt, m.start = time.Now(), m.now() }

// Since is the cores each group kept busy on average since Mark. Read it
// before the processes exit: a gone process is left out.
func (m *CPUMeter) Since() map[string]float64 {
	now, wall := m.now(), time.Since(m.startAt).Seconds()
	out := map[string]float64{}
	for k, v := range now {
		if s, ok := m.start[k]; ok {
			out[k] = (v - s) / wall
		}
	}
	return out
}

// Status reads VmRSS and VmHWM (kB) of a process.
func Status(pid int) (rss, hwm uint64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		v, _ := strconv.ParseUint(fields[1], 10, 64)
		switch fields[0] {
		case "VmRSS:":
			rss = v
		case "VmHWM:":
			hwm = v
		}
	}
	return rss, hwm
}

// clockTicks is USER_HZ, 100 on every Linux Go runs on.
const clockTicks = 100

// ProcCPU is a process's user+system CPU seconds.
func ProcCPU(pid int) (float64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// Fields after the command (which may hold spaces) start after the last ')'.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0, false
	}
	u, _ := strconv.ParseFloat(fields[11], 64)
	sy, _ := strconv.ParseFloat(fields[12], 64)
	return (u + sy) / clockTicks, true
}

// MachineCPU is the machine's busy CPU seconds (all but idle and iowait).
func MachineCPU() (float64, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(line)
	if len(fields) < 8 || fields[0] != "cpu" {
		return 0, false
	}
	var busy float64
	for i, f := range fields[1:] {
		v, _ := strconv.ParseFloat(f, 64)
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy / clockTicks, true
}

// FreeAddr is a loopback address nothing listens on at the moment: the API
// server takes its address from config, so the bench chooses the port.
func FreeAddr() (string, error) {
	p, err := testenv.FreePort()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), nil
}

// Kill ends the worker at once (SIGKILL), as a crash would, and waits for it
// to end: only this process, which the bench started.
func (w *Worker) Kill() {
	_ = w.cmd.Process.Kill()
	<-w.done
	w.log.Close()
}
