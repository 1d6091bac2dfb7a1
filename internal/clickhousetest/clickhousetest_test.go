package clickhousetest_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/runhook/runhook/internal/clickhousetest"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/testenv"
)

func TestDumpText(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	line, err := os.ReadFile("../runs/testdata/seed_run.json")
	if err != nil {
		t.Fatal(err)
	}
	r, err := runs.DecodeRun(line, time.Now())
	if err != nil {
		t.Fatalf("decode seed run: %v", err)
	}
	if err := store.InsertRuns(ctx, []runs.Run{r}); err != nil {
		t.Fatal(err)
	}
	dump, err := clickhousetest.DumpText(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dump["runs"], r.ID.String()) || !strings.Contains(dump["runs"], "Search") {
		t.Errorf("runs dump lacks the seed run:\n%s", dump["runs"])
	}
	if _, ok := dump["schema_migrations"]; !ok {
		t.Errorf("tables dumped: %v", len(dump))
	}
}

func TestRowsReadCountsWhatTheServerRead(t *testing.T) {
	store := testenv.ClickHouse(t)
	read, err := clickhousetest.RowsRead(context.Background(), store, "SELECT number FROM system.numbers LIMIT 10")
	if err != nil || read < 10 {
		t.Fatalf("read %d rows, %v; want at least 10", read, err)
	}
}
