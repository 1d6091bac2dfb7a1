//go:build chdb

// The retention statements on a current ClickHouse, with the harness of chdb_test.go.
package clickhouse_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/retention"
	"github.com/runhook/runhook/schema"
)

func TestChdbRetention(t *testing.T) {
	c := openChdb(t)
	migrations, err := schema.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations {
		for _, stmt := range m.Statements {
			c.exec(t, stmt)
		}
	}
	if tz := c.rows(t, clickhouse.TimezoneSQL); len(tz) != 1 || only(tz[0]) == "" {
		t.Errorf("timezone: %v", tz)
	}

	jan1, jan2 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC), time.Date(2025, 1, 2, 12, 0, 0, 0, time.UTC)
	c.exec(t, `INSERT INTO rule_events (rule_id, run_id, event, reason, at, workflow_id) VALUES (?, ?, 'matched', '', ?, 'w'), (?, ?, 'matched', '', ?, 'w')`,
		uuid.New(), uuid.New(), uint64(jan1.UnixMicro()), uuid.New(), uuid.New(), uint64(jan2.UnixMicro()))
	c.exec(t, `INSERT INTO rule_claims (rule_id, run_id, owner, at) VALUES (?, ?, 'o', ?)`, uuid.New(), uuid.New(), uint64(jan1.UnixMicro()))
	// Through the runs views: run_arrivals by day, run_keys by month.
	c.exec(t, `INSERT INTO runs (id, trace_id, session_id, name, run_type, status, is_root, start_time, modified_at, inserted_at)
		VALUES (?, ?, ?, 'r', 'llm', 'success', 1, 1, 1, toDateTime(?))`, uuid.New(), uuid.New(), uuid.New(), uint64(jan1.Unix()))

	list := func() []retention.Partition {
		names := []any{}
		for _, table := range retention.Tables() {
			names = append(names, table)
		}
		var out []retention.Partition
		for _, r := range c.rows(t, clickhouse.PartitionsSQL, ch.GroupSet{Value: names}) {
			out = append(out, retention.Partition{Table: fmt.Sprint(r["table"]), ID: fmt.Sprint(r["partition_id"])})
		}
		return out
	}
	want := []retention.Partition{
		{Table: "rule_claims", ID: "202501"}, {Table: "rule_events", ID: "20250101"}, {Table: "rule_events", ID: "20250102"},
		{Table: "run_arrivals", ID: "20250101"}, {Table: "run_keys", ID: "202501"}, {Table: "runs", ID: "20250101"},
	}
	if got := list(); !reflect.DeepEqual(got, want) {
		t.Fatalf("partitions %v, want %v", got, want)
	}
	for _, p := range []retention.Partition{{Table: "rule_events", ID: "20250101"}, {Table: "rule_claims", ID: "202501"}, {Table: "runs", ID: "20250101"}} {
		stmt, err := clickhouse.DropPartitionSQL(p.Table, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		c.exec(t, stmt)
		c.exec(t, stmt) // already gone: not an error
	}
	want = []retention.Partition{{Table: "rule_events", ID: "20250102"}, {Table: "run_arrivals", ID: "20250101"}, {Table: "run_keys", ID: "202501"}}
	if got := list(); !reflect.DeepEqual(got, want) {
		t.Errorf("after the drops: %v, want %v", got, want)
	}
}
