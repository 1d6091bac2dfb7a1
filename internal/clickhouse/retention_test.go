package clickhouse_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/retention"
	"github.com/runhook/runhook/internal/testenv"
)

func insertEvent(t *testing.T, store *clickhouse.Store, at time.Time) {
	t.Helper()
	err := store.Exec(context.Background(), `INSERT INTO rule_events (rule_id, run_id, event, reason, at, workflow_id)
		SELECT toUUID(?), toUUID(?), 'matched', '', toUInt64(?), 'w'`, uuid.NewString(), uuid.NewString(), at.UnixMicro())
	if err != nil {
		t.Fatal(err)
	}
}

func insertClaim(t *testing.T, store *clickhouse.Store, at time.Time) {
	t.Helper()
	err := store.Exec(context.Background(), `INSERT INTO rule_claims (rule_id, run_id, owner, at)
		SELECT toUUID(?), toUUID(?), 'o', toUInt64(?)`, uuid.NewString(), uuid.NewString(), at.UnixMicro())
	if err != nil {
		t.Fatal(err)
	}
}

func TestPartitionsAndDropPartition(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	if tz, err := store.Timezone(ctx); err != nil || tz == "" {
		t.Fatalf("timezone %q, %v", tz, err)
	}
	jan1, jan2 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC), time.Date(2025, 1, 2, 0, 0, 1, 0, time.UTC)
	insertEvent(t, store, jan1)
	insertEvent(t, store, jan1.Add(time.Hour)) // a second part of the same partition
	insertEvent(t, store, jan2)
	insertClaim(t, store, jan1)

	tables := []string{"rule_events", "rule_claims", "runs"}
	got, err := store.Partitions(ctx, tables)
	if err != nil {
		t.Fatal(err)
	}
	want := []retention.Partition{{Table: "rule_claims", ID: "202501"}, {Table: "rule_events", ID: "20250101"}, {Table: "rule_events", ID: "20250102"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("partitions %v, want %v (one per partition, of the named tables only)", got, want)
	}
	if got, err := store.Partitions(ctx, []string{"rule_claims"}); err != nil || len(got) != 1 {
		t.Fatalf("only rule_claims: %v, %v", got, err)
	}

	if err := store.DropPartition(ctx, "rule_events", "20250101"); err != nil {
		t.Fatal(err)
	}
	if err := store.DropPartition(ctx, "rule_claims", "202501"); err != nil {
		t.Fatal(err)
	}
	got, err = store.Partitions(ctx, tables)
	if err != nil {
		t.Fatal(err)
	}
	if want := want[2:]; !reflect.DeepEqual(got, want) {
		t.Fatalf("after dropping two: %v, want %v", got, want)
	}
	var n uint64
	if err := store.QueryRow(ctx, `SELECT count() FROM rule_events`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("rule_events holds %d rows (%v), want the one of 2 January", n, err)
	}
	// Retention runs hourly: a partition dropped meanwhile is not an error.
	if err := store.DropPartition(ctx, "rule_events", "20250101"); err != nil {
		t.Errorf("dropping a partition already gone: %v", err)
	}
}

func TestDropPartitionSQLWritesOnlyCheckedText(t *testing.T) {
	if stmt, err := clickhouse.DropPartitionSQL("runs", "20250101"); err != nil || stmt != "ALTER TABLE `runs` DROP PARTITION 20250101" {
		t.Errorf("stmt %q, %v", stmt, err)
	}
	for _, tc := range []struct{ table, id string }{
		{"runs", "20250101 OR 1"}, {"runs", "'20250101'"}, {"runs", "all"}, {"runs", ""}, {"runs", "2025010"},
		{"runs; DROP TABLE rules", "20250101"}, {"`runs`", "20250101"}, {"", "202501"},
	} {
		stmt, err := clickhouse.DropPartitionSQL(tc.table, tc.id)
		if err == nil {
			t.Errorf("DropPartitionSQL(%q, %q) = %q, want refused", tc.table, tc.id, stmt)
		}
	}
	store := testenv.ClickHouse(t)
	if err := store.DropPartition(context.Background(), "rule_events", "1 OR 1"); err == nil || !strings.Contains(err.Error(), "not a partition ID") {
		t.Errorf("err = %v", err)
	}
}
