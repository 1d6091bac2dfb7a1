package main

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// goroutineProfile is the worker's goroutines grouped by stack, as
// /debug/pprof/goroutine?debug=1 gives them (metrics.profiles).
type goroutineProfile struct {
	total  int
	stacks map[string]int // a stack's innermost runhook or SDK frames -> goroutines
	text   string
}

func readGoroutineProfile(addr string) (*goroutineProfile, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("goroutine profile at %s: %s", addr, resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return parseGoroutineProfile(string(b))
}

// parseGoroutineProfile reads the debug=1 text: groups of "N @ pcs" then
// "#\tpc\tfunc+off\tfile:line" frames, innermost first.
func parseGoroutineProfile(text string) (*goroutineProfile, error) {
	p := &goroutineProfile{stacks: map[string]int{}, text: text}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	var frames []string
	flush := func() {
		if n > 0 {
			p.stacks[stackKey(frames)] += n
		}
		n, frames = 0, nil
	}
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "goroutine profile: total "):
			t, err := strconv.Atoi(strings.TrimPrefix(line, "goroutine profile: total "))
			if err != nil {
				return nil, fmt.Errorf("goroutine profile: %q", line)
			}
			p.total = t
		case strings.Contains(line, " @ "):
			flush()
			c, err := strconv.Atoi(strings.TrimSpace(line[:strings.Index(line, " @ ")]))
			if err != nil {
				return nil, fmt.Errorf("goroutine profile: %q", line)
			}
			n = c
		case strings.HasPrefix(line, "#\t"):
			f := strings.Fields(line)
			if len(f) >= 3 {
				fn, _, _ := strings.Cut(f[2], "+")
				frames = append(frames, fn)
			}
		}
	}
	flush()
	return p, sc.Err()
}

// stackKey names a stack by where it waits (its innermost frame outside the
// runtime) and where it was started (its outermost frame below runtime.goexit), which is what
// tells a pool of pollers from goroutines left behind by one activity.
func stackKey(frames []string) string {
	if len(frames) == 0 {
		return "?"
	}
	wait := frames[0]
	for _, f := range frames {
		if !strings.HasPrefix(f, "runtime.") && !strings.HasPrefix(f, "internal/") && !strings.HasPrefix(f, "sync.") {
			wait = f
			break
		}
	}
	started := frames[len(frames)-1]
	if started == "runtime.goexit" && len(frames) > 1 {
		started = frames[len(frames)-2]
	}
	return wait + " <- " + started
}

// split counts a profile's goroutines as the worker's cached workflows
// (their coroutines: work in flight, bounded by the sticky cache and
// released as the workflows end), the delivery transport's connections
// (kept alive, up to 8 a receiver host, until 90 s idle), and the rest.
func (p *goroutineProfile) split() (workflows, conns, rest int) {
	for k, n := range p.stacks {
		switch {
		case strings.Contains(k, "coroutineState"):
			workflows += n
		case strings.HasSuffix(k, "<- net/http.(*persistConn).readLoop") || strings.HasSuffix(k, "<- net/http.(*persistConn).writeLoop"):
			conns += n
		default:
			rest += n
		}
	}
	return workflows, conns, rest
}

// growth is a stack's goroutines in two profiles.
type growth struct {
	stack    string
	from, to int
}

// grew is the stacks with more goroutines in b than in a, most first.
func grew(a, b *goroutineProfile) []growth {
	var out []growth
	for k, n := range b.stacks {
		if n > a.stacks[k] {
			out = append(out, growth{k, a.stacks[k], n})
		}
	}
	slices.SortFunc(out, func(x, y growth) int {
		return cmp.Or(cmp.Compare(y.to-y.from, x.to-x.from), strings.Compare(x.stack, y.stack))
	})
	return out
}

// saveProfiles writes each profile's text to dir, for a look at whole stacks.
func saveProfiles(dir string, profiles map[string]*goroutineProfile) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, p := range profiles {
		if p == nil {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, "goroutines-"+name+".txt"), []byte(p.text), 0o644); err != nil {
			return err
		}
	}
	return nil
}
