// Package report is the benches' common result: each bench writes its
// headline figures as a small JSON document (-json FILE), and bench/report
// reads a directory of them and prints one markdown table. A bench that writes
// this shape shows up in the table with no change to the reader.
package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Doc is one bench's result: one row of the summary table.
type Doc struct {
	// Bench is the command's name (bench/<name>); it orders the table.
	Bench string `json:"bench"`
	// Title says what was measured, as the table's first column.
	Title string `json:"title"`
	Rows  []Row  `json:"rows"`
	Ratio *Ratio `json:"ratio,omitempty"`
	// Params are the bench's flags as it ran.
	Params map[string]string `json:"params,omitempty"`
	// Notes are short findings printed under the table.
	Notes   []string  `json:"notes,omitempty"`
	Machine Machine   `json:"machine"`
	Commit  string    `json:"commit,omitempty"`
	Started time.Time `json:"started"`
	Seconds float64   `json:"seconds"`
}

// Row is one headline figure. Consecutive rows with the same label share it
// in the table ("Temporal: 9.4 POSTs/s, 94 runs/s").
type Row struct {
	Label string  `json:"label"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

// Ratio compares the bench's figure with a reference measured in the same run.
type Ratio struct {
	// Label names the quotient, e.g. "Temporal / bare client".
	Label string  `json:"label"`
	Value float64 `json:"value"`
}

// Machine is where a bench ran.
type Machine struct {
	Cores       int    `json:"cores"`
	MemoryBytes uint64 `json:"memory_bytes"`
	Go          string `json:"go"`
}

// Start begins a bench's document; fs (may be nil) supplies its parameters,
// every flag but -json.
func Start(bench, title string, fs *flag.FlagSet) *Doc {
	d := &Doc{Bench: bench, Title: title, Params: map[string]string{}, Started: time.Now().UTC().Truncate(time.Second)}
	if fs != nil {
		fs.VisitAll(func(f *flag.Flag) {
			if f.Name != "json" {
				d.Params[f.Name] = f.Value.String()
			}
		})
	}
	return d
}

// Add appends a headline figure.
func (d *Doc) Add(label string, value float64, unit string) {
	d.Rows = append(d.Rows, Row{Label: label, Value: value, Unit: unit})
}

// SetRatio records value as the bench's ratio; a NaN or infinite value (a
// zero reference) is not recorded.
func (d *Doc) SetRatio(label string, value float64) {
	if math.IsNaN(value) || math.IsInf(value, 0) {
		return
	}
	d.Ratio = &Ratio{Label: label, Value: value}
}

// Note appends a finding for under the table.
func (d *Doc) Note(format string, args ...any) {
	d.Notes = append(d.Notes, fmt.Sprintf(format, args...))
}

// Write fills in the machine, commit and duration and writes the document to
// path; an empty path (no -json flag) writes nothing.
func (d *Doc) Write(path string) error {
	if path == "" {
		return nil
	}
	d.Seconds = math.Round(time.Since(d.Started).Seconds())
	d.Machine = ThisMachine()
	d.Commit = Commit()
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ThisMachine reads the cores Go sees and MemTotal from /proc/meminfo (0 where
// there is none).
func ThisMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version()}
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, _ := strconv.ParseUint(fields[1], 10, 64)
			m.MemoryBytes = kb * 1024
			break
		}
	}
	return m
}

// Commit is the checked-out commit, with "+dirty" when tracked files differ
// from it, or "" outside a git work tree.
func Commit() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return ""
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		c += "+dirty"
	}
	return c
}

// ReadDir reads every *.json file of dir as a Doc.
func ReadDir(dir string) ([]Doc, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	var docs []Doc
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var d Doc
		if err := json.Unmarshal(b, &d); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if d.Bench == "" || d.Title == "" {
			return nil, fmt.Errorf("%s: not a bench result (no bench or title)", p)
		}
		docs = append(docs, d)
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("no bench results (*.json) in %s", dir)
	}
	return docs, nil
}

// Order is where known benches go in the table, in the order a reader takes
// the pipeline: runs in, what Temporal alone does, runs out (rule and run
// webhooks), how fast a rule sees them, what its query costs, many rules,
// more workers. Others follow by name.
var Order = []string{"ingest", "api", "floor", "delivery", "runwebhooks", "detect", "match", "rules", "scaling"}

func rank(bench string) int {
	if i := slices.Index(Order, bench); i >= 0 {
		return i
	}
	return len(Order)
}

// Markdown is the one table: a header with the machine, dates and commits,
// a row per document, then each bench's parameters and notes.
func Markdown(docs []Doc) string {
	docs = slices.Clone(docs)
	slices.SortStableFunc(docs, func(a, b Doc) int {
		if ra, rb := rank(a.Bench), rank(b.Bench); ra != rb {
			return ra - rb
		}
		return strings.Compare(a.Bench, b.Bench)
	})
	var b strings.Builder
	fmt.Fprintf(&b, "Machine: %s. Measured %s, commit %s.\n\n", machines(docs), span(docs), commits(docs))
	b.WriteString("| measurement | result | ratio |\n|---|---|---|\n")
	for _, d := range docs {
		ratio := "—"
		if d.Ratio != nil {
			ratio = fmt.Sprintf("%s (%s)", Number(d.Ratio.Value), cell(d.Ratio.Label))
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", cell(d.Title), cell(figures(d.Rows)), ratio)
	}
	b.WriteString("\n")
	for _, d := range docs {
		fmt.Fprintf(&b, "- %s: `go run ./bench/%s%s`, %s.", d.Bench, d.Bench, flags(d.Params), duration(d.Seconds))
		for _, n := range d.Notes {
			b.WriteString(" " + n)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func figures(rows []Row) string {
	if len(rows) == 0 {
		return "—"
	}
	var segs []string
	for i, r := range rows {
		v := Number(r.Value)
		if r.Unit != "" {
			v += " " + r.Unit
		}
		switch {
		case i > 0 && r.Label == rows[i-1].Label:
			segs[len(segs)-1] += ", " + v
		case r.Label == "":
			segs = append(segs, v)
		default:
			segs = append(segs, r.Label+": "+v)
		}
	}
	return strings.Join(segs, "; ")
}

// Number prints a figure with the digits that mean something at its size:
// thousands grouped, tenths under 100, hundredths under 10, two significant
// digits under 0.1.
func Number(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "—"
	case a >= 1000:
		return group(strconv.FormatFloat(math.Round(v), 'f', 0, 64))
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 0.1 || a == 0:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'g', 2, 64)
	}
}

// Count prints an integer with its thousands grouped: 1,000.
func Count(n int) string { return group(strconv.Itoa(n)) }

func group(digits string) string {
	sign := ""
	if strings.HasPrefix(digits, "-") {
		sign, digits = "-", digits[1:]
	}
	var out []byte
	for i := range len(digits) {
		if i > 0 && (len(digits)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, digits[i])
	}
	return sign + string(out)
}

func flags(params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		v := params[k]
		if v == "" {
			continue // a flag left empty means its default, which the command line need not show
		}
		if strings.ContainsAny(v, " \t'\"()") {
			v = "'" + v + "'"
		}
		fmt.Fprintf(&b, " -%s=%s", k, v) // "=" so a boolean flag reads its value back
	}
	return b.String()
}

func duration(s float64) string {
	d := time.Duration(s) * time.Second
	if d < time.Minute {
		return fmt.Sprintf("%.0f s", s)
	}
	return fmt.Sprintf("%d min %02d s", int(d.Minutes()), int(d.Seconds())%60)
}

// cell keeps a value from breaking the table's columns.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func machines(docs []Doc) string {
	var out []string
	for _, d := range docs {
		m := d.Machine
		s := fmt.Sprintf("%d cores, %.1f GiB memory, %s", m.Cores, float64(m.MemoryBytes)/(1<<30), m.Go)
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) > 1 {
		return "the benches ran on different machines: " + strings.Join(out, "; ")
	}
	return out[0]
}

func span(docs []Doc) string {
	first, last := docs[0].Started, docs[0].Started
	for _, d := range docs {
		end := d.Started.Add(time.Duration(d.Seconds) * time.Second)
		if d.Started.Before(first) {
			first = d.Started
		}
		if end.After(last) {
			last = end
		}
	}
	first, last = first.UTC(), last.UTC()
	if first.Format(time.DateOnly) == last.Format(time.DateOnly) {
		return fmt.Sprintf("%s, %s–%s UTC", first.Format(time.DateOnly), first.Format("15:04"), last.Format("15:04"))
	}
	return fmt.Sprintf("%s – %s UTC", first.Format("2006-01-02 15:04"), last.Format("2006-01-02 15:04"))
}

func commits(docs []Doc) string {
	var out []string
	for _, d := range docs {
		c := d.Commit
		if c == "" {
			c = "unknown"
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return strings.Join(out, ", ")
}

// EngineFlag registers -engine, which names the Temporal server a bench ran
// on in its title: the benches that measure Temporal run on the dev server
// and, in `make bench`, again on the PostgreSQL-backed server with several
// history shards that deployments run (RUNHOOK_TEMPORAL_ADDRESS points there).
func EngineFlag() *string {
	return flag.String("engine", "dev server", "the Temporal server's name in the title (make bench: \"dev server\" or \"PostgreSQL, 4 shards\")")
}

// OnEngine is the title's suffix for engine.
func OnEngine(engine string) string { return " (Temporal " + engine + ")" }
