package report

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/table.md from testdata/docs")

// The table of fixed documents is compared with a golden file; rerun with
// -update after a deliberate change and read the diff.
func TestMarkdownGolden(t *testing.T) {
	docs, err := ReadDir("testdata/docs")
	if err != nil {
		t.Fatal(err)
	}
	got := Markdown(docs)
	golden := filepath.Join("testdata", "table.md")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("table differs from %s (rerun with -update to accept):\n%s", golden, got)
	}
}

func TestMarkdownHeaderDiffers(t *testing.T) {
	a := Doc{Bench: "ingest", Title: "a", Machine: Machine{Cores: 2, MemoryBytes: 2 << 30, Go: "go1"}, Commit: "aaa",
		Started: time.Date(2026, 11, 23, 23, 50, 0, 0, time.UTC), Seconds: 60}
	b := Doc{Bench: "match", Title: "b", Machine: Machine{Cores: 4, MemoryBytes: 2 << 30, Go: "go1"},
		Started: time.Date(2026, 11, 24, 0, 10, 0, 0, time.UTC), Seconds: 600}
	got, _, _ := strings.Cut(Markdown([]Doc{b, a}), "\n")
	want := "Machine: the benches ran on different machines: 2 cores, 2.0 GiB memory, go1; 4 cores, 2.0 GiB memory, go1. " +
		"Measured 2026-11-23 23:50 – 2026-11-24 00:20 UTC, commit aaa, unknown."
	if got != want {
		t.Errorf("header\n got %s\nwant %s", got, want)
	}
}

func TestNumber(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{
		{0, "0.00"}, {0.00049, "0.00049"}, {0.0912, "0.091"}, {0.4552, "0.46"}, {4.183, "4.18"}, {12.63, "12.6"},
		{99.96, "100.0"}, {537.7, "538"}, {1000, "1,000"}, {40975.3, "40,975"}, {10000000, "10,000,000"}, {-1234.5, "-1,235"},
	} {
		if got := Number(c.v); got != c.want {
			t.Errorf("Number(%v) = %q, want %q", c.v, got, c.want)
		}
	}
	if got := Count(1000); got != "1,000" {
		t.Errorf("Count(1000) = %q", got)
	}
	if got := Count(999); got != "999" {
		t.Errorf("Count(999) = %q", got)
	}
}

// The writer records the flags as run (but not -json), the figures, the
// machine and the duration, and ReadDir gives back the same document.
func TestWriteRead(t *testing.T) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.Int("runs", 10, "")
	fs.String("json", "", "")
	if err := fs.Parse([]string{"-runs", "25", "-json", "x.json"}); err != nil {
		t.Fatal(err)
	}
	d := Start("ingest", "ingest (JSONL → ClickHouse)", fs)
	d.Add("JSONL", 1234.5, "runs/s")
	d.SetRatio("nothing / zero", 1.0/zero())
	d.Note("%d runs", 25)

	dir := t.TempDir()
	if err := d.Write(""); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("Write(\"\") wrote %v", entries)
	}
	if err := d.Write(filepath.Join(dir, "sub", "ingest.json")); err != nil {
		t.Fatal(err)
	}
	docs, err := ReadDir(filepath.Join(dir, "sub"))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 {
		t.Fatalf("read %d docs", len(docs))
	}
	got := docs[0]
	if !reflect.DeepEqual(got.Params, map[string]string{"runs": "25"}) {
		t.Errorf("params %v, want only runs=25", got.Params)
	}
	if got.Ratio != nil {
		t.Errorf("an infinite ratio was recorded: %+v", got.Ratio)
	}
	if !reflect.DeepEqual(got.Rows, []Row{{"JSONL", 1234.5, "runs/s"}}) || !reflect.DeepEqual(got.Notes, []string{"25 runs"}) {
		t.Errorf("rows %v notes %v", got.Rows, got.Notes)
	}
	if got.Machine.Cores != runtime.NumCPU() || got.Machine.Go != runtime.Version() {
		t.Errorf("machine %+v", got.Machine)
	}
	if runtime.GOOS == "linux" && got.Machine.MemoryBytes == 0 {
		t.Error("no memory read from /proc/meminfo")
	}
	if !got.Started.Equal(d.Started) || got.Seconds < 0 {
		t.Errorf("started %v (want %v), seconds %v", got.Started, d.Started, got.Seconds)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "sub", "ingest.json"))
	if strings.Contains(string(b), `"ratio"`) {
		t.Errorf("no ratio should leave the key out:\n%s", b)
	}
}

func zero() float64 { return 0 }

func TestReadDirRefuses(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadDir(dir); err == nil || !strings.Contains(err.Error(), "no bench results") {
		t.Errorf("empty dir: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "other.json"), []byte(`{"name": "not a bench"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadDir(dir); err == nil || !strings.Contains(err.Error(), "other.json: not a bench result") {
		t.Errorf("foreign JSON: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "other.json"), []byte(`{`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadDir(dir); err == nil || !strings.Contains(err.Error(), "other.json") {
		t.Errorf("broken JSON: %v", err)
	}
}
