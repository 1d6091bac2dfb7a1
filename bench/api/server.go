package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"time"

	"github.com/runhook/runhook/bench/internal/rig"
	"github.com/runhook/runhook/internal/api"
	"github.com/runhook/runhook/internal/config"
)

// server is a bin/server process the bench started.
type server struct {
	cmd     *exec.Cmd
	url     string
	logPath string
	done    chan struct{}
}

// startServer runs bin on database with one API key and waits until it answers
// GET /info. Other settings come from the environment and config file, as for
// a deployed server.
func startServer(ctx context.Context, bin, logPath string, cfg config.ClickHouse, database, key string) (*server, error) {
	addr, err := rig.FreeAddr()
	if err != nil {
		return nil, err
	}
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer log.Close() // the child holds its own descriptor
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"RUNHOOK_CLICKHOUSE_ADDR="+cfg.Addr,
		"RUNHOOK_CLICKHOUSE_DATABASE="+database,
		"RUNHOOK_API_ADDR="+addr,
		"RUNHOOK_API_PUBLIC_URL=http://"+addr,
		"RUNHOOK_API_KEY_HASHES="+api.HashKey(key),
	)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start server: %w", err)
	}
	s := &server{cmd: cmd, url: "http://" + addr, logPath: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()

	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.url + "/info")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("server exited at start: %s", s.logTail())
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("server not answering on %s after 30 s: %s", addr, s.logTail())
		}
	}
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// stop sends SIGTERM (the server drains its requests), and kills it after 30 s.
func (s *server) stop() { rig.Terminate(s.cmd.Process, s.done) }

// logTail is the end of the server's log, for an error message.
func (s *server) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	b = bytes.TrimSpace(b)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
