// Command ingest measures how fast runs get into ClickHouse: JSON Lines through
// the ingest path (decode, validate, batch insert) and pre-decoded runs through
// the storage driver alone. It writes to a scratch database that it drops.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/bench/internal/report"
	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/clickhousetest"
	"github.com/runhook/runhook/internal/config"
	"github.com/runhook/runhook/internal/ingest"
	"github.com/runhook/runhook/internal/runs"
)

func main() {
	n := flag.Int("runs", 1_000_000, "synthetic runs per measurement")
	jsonPath := flag.String("json", "", "also write the headline figures to this file as JSON (bench/report reads it)")
	flag.Parse()
	out := report.Start("ingest", "ingest (JSONL → ClickHouse)", flag.CommandLine)
	err := run(*n, out)
	if err == nil {
		err = out.Write(*jsonPath)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// synthetic builds n runs as JSON Lines: traces of one chain root and three
// children with tokens, tags, metadata and small inputs/outputs.
func synthetic(n int) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	session := uuid.New()
	base := time.Now().UTC().Add(-time.Hour)
	var root uuid.UUID
	kinds := []string{"chain", "llm", "tool", "retriever"}
	for i := 0; i < n; i++ {
		id := uuid.New()
		start := base.Add(time.Duration(i) * time.Microsecond * 37)
		line := map[string]any{
			"id": id, "session_id": session, "name": "step", "run_type": kinds[i%4],
			"start_time": runs.FormatRunTime(start), "end_time": runs.FormatRunTime(start.Add(420 * time.Millisecond)),
			"inputs": map[string]any{"question": "what is runhook?"}, "outputs": map[string]any{"answer": "webhooks"},
			"tags": []string{"bench"}, "extra": map[string]any{"metadata": map[string]any{"i": i}},
			"total_tokens": 120, "prompt_tokens": 80, "completion_tokens": 40,
		}
		if i%4 == 0 {
			root = id
		} else {
			line["parent_run_id"], line["trace_id"] = root, root
		}
		_ = enc.Encode(line)
	}
	return buf.Bytes()
}

func run(n int, out *report.Doc) error {
	cfg, err := config.Load(config.Options{})
	if err != nil {
		return err
	}
	cfg.ClickHouse.Database = fmt.Sprintf("runhook_bench_%d", time.Now().UnixNano())
	ctx := context.Background()
	store, err := clickhouse.Open(ctx, cfg.ClickHouse)
	if err != nil {
		return fmt.Errorf("%w (start ClickHouse with `make services`)", err)
	}
	defer store.Close()
	defer clickhousetest.DropDatabase(ctx, store)
	if _, err := store.Migrate(ctx); err != nil {
		return err
	}
	version, _ := store.ServerVersion(ctx)

	data := synthetic(n)
	start := time.Now()
	res, err := ingest.Runs(ctx, store, bytes.NewReader(data), "synthetic", ingest.Options{})
	if err != nil {
		return err
	}
	jsonl := time.Since(start)

	// The same runs again, decoded beforehand: the storage driver alone.
	decoded := make([]runs.Run, 0, n)
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		r, err := runs.DecodeRun(line, time.Now())
		if err != nil {
			return err
		}
		r.ID = uuid.New()
		decoded = append(decoded, r)
	}
	start = time.Now()
	if err := store.InsertRuns(ctx, decoded); err != nil {
		return err
	}
	direct := time.Since(start)
	count, err := store.CountRuns(ctx)
	if err != nil {
		return err
	}

	fmt.Printf("ingest benchmark: ClickHouse %s, %d cores, %s, batch %d rows, %d MB of JSON Lines\n",
		version, runtime.NumCPU(), runtime.Version(), cfg.ClickHouse.BatchSize, len(data)>>20)
	fmt.Printf("%-44s %10s %12s %14s\n", "path", "runs", "seconds", "runs/s")
	fmt.Printf("%-44s %10d %12.2f %14.0f\n", "JSONL -> decode/validate -> batch insert", res.Inserted, jsonl.Seconds(), float64(res.Inserted)/jsonl.Seconds())
	fmt.Printf("%-44s %10d %12.2f %14.0f\n", "decoded runs -> batch insert (driver only)", len(decoded), direct.Seconds(), float64(len(decoded))/direct.Seconds())
	fmt.Printf("distinct runs stored: %d\n", count)
	out.Add("JSONL, decode, validate, insert", float64(res.Inserted)/jsonl.Seconds(), "runs/s")
	out.Add("decoded runs, insert only", float64(len(decoded))/direct.Seconds(), "runs/s")
	return nil
}
