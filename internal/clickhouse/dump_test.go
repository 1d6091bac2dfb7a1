package clickhouse_test

import (
	"context"
	"strings"
	"testing"

	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/testenv"
)

func TestDumpText(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	r, _ := seedRun(t)
	if err := store.InsertRuns(ctx, []runs.Run{r}); err != nil {
		t.Fatal(err)
	}
	dump, err := store.DumpText(ctx)
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
