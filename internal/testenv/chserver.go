package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// CHServer is a ClickHouse server of the caller's own, run by
// scripts/services.sh in a data dir and on loopback ports of its own, so
// that a test or a soak can stop and start it again without touching the
// shared server. Stop ends it by the PID the script recorded.
type CHServer struct {
	script string
	env    []string
	dir    string
	tcp    int
}

// NewCHServer prepares a server whose data lives in dataDir; root is the
// module's root (where scripts/ is). It is not started.
func NewCHServer(root, dataDir string) (*CHServer, error) {
	script, err := filepath.Abs(filepath.Join(root, "scripts", "services.sh"))
	if err != nil {
		return nil, err
	}
	ports := make([]int, 3)
	for i := range ports {
		if ports[i], err = FreePort(); err != nil {
			return nil, err
		}
	}
	s := &CHServer{script: script, dir: dataDir, tcp: ports[0]}
	s.env = append(os.Environ(), "RUNHOOK_DATA_DIR="+dataDir,
		"RUNHOOK_CH_TCP_PORT="+strconv.Itoa(ports[0]), "RUNHOOK_CH_HTTP_PORT="+strconv.Itoa(ports[1]),
		"RUNHOOK_CH_INTERSERVER_PORT="+strconv.Itoa(ports[2]))
	return s, nil
}

// Addr is the server's native-protocol address.
func (s *CHServer) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.tcp) }

// Pid is the running server's process id, as the script recorded it; 0
// when it is not running.
func (s *CHServer) Pid() int {
	b, err := os.ReadFile(filepath.Join(s.dir, "clickhouse.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// Start starts the server (installing ClickHouse first if needed) and
// returns once it answers.
func (s *CHServer) Start() error { return s.run("clickhouse") }

// Stop stops the server; one not running is no error.
func (s *CHServer) Stop() error { return s.run("down") }

func (s *CHServer) run(arg string) error {
	cmd := exec.Command(s.script, arg)
	cmd.Env = s.env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("services.sh %s: %v\n%s", arg, err, out)
	}
	return nil
}

// FreePort is a loopback TCP port nothing listens on now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
