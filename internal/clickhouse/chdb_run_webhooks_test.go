//go:build chdb

// The run webhook queries on a current ClickHouse, with the harness of chdb_test.go.
package clickhouse_test

import (
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/schema"
)

func runWebhookRow(w clickhouse.RunWebhook) []any {
	return []any{w.RunID, w.URLSealed, w.URLRedacted, w.KeyID, runs.Micros(w.CreatedAt), w.WorkflowID, w.Format}
}

func TestChdbRunWebhooks(t *testing.T) {
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

	t.Run("run_webhooks", func(t *testing.T) {
		cols := columnsOf(t, clickhouse.InsertRunWebhooksSQL)
		a, b := uuid.New(), uuid.New()
		first := clickhouse.RunWebhook{RunID: a, URLSealed: "rh1:k:1", URLRedacted: "https://h/a?token=***", KeyID: "k", CreatedAt: at(0)}
		retried := first
		retried.URLSealed, retried.CreatedAt, retried.WorkflowID = "rh1:k:2 'quoted' \\", at(10), "run-webhooks/0f"
		retried.Format = "langgraph"

		other := clickhouse.RunWebhook{RunID: b, URLSealed: "rh1:k:b", URLRedacted: "https://h/b", KeyID: "k", CreatedAt: at(0)}
		c.insert(t, clickhouse.InsertRunWebhooksSQL, runWebhookRow(retried), runWebhookRow(other))
		c.insert(t, clickhouse.InsertRunWebhooksSQL, runWebhookRow(first))

		wantColumns(t, c.rows(t, clickhouse.RunWebhooksByRunSQL, uuidGroupSet(a)), cols, runWebhookRow(retried))
		wantColumns(t, c.rows(t, clickhouse.RunWebhooksByRunSQL, uuidGroupSet(uuid.New())), cols)
		if got := c.rows(t, clickhouse.RunWebhooksByRunSQL, uuidGroupSet(a, b, uuid.New())); len(got) != 2 {
			t.Errorf("webhooks of two runs that have one: %v", got)
		}
	})

	t.Run("RunEndedSQL and documents", func(t *testing.T) {
		id := uuid.New()
		pending := run{id: id, traceID: id, sessionID: uuid.New(), name: "r", status: "pending", isRoot: 1,
			start: micros("2024-04-05T01:28:54.085646Z"), modified: micros("2024-04-05T01:28:54.085646Z"),
			inputs: ptr(`{"q":  "spaced"}`)}
		ended := pending
		ended.status, ended.end, ended.modified = "success", ptr(micros("2024-04-05T01:28:55Z")), micros("2024-04-05T01:28:55Z")
		ended.outputs = ptr(`{"a":1}`)
		c.insert(t, clickhouse.InsertRunsSQL, pending.values())
		if got := c.rows(t, clickhouse.RunEndedSQL, id); len(got) != 1 || only(got[0]) != "0" {
			t.Errorf("pending: %v", got)
		}
		c.insert(t, clickhouse.InsertRunsSQL, ended.values())
		if got := c.rows(t, clickhouse.RunEndedSQL, id); len(got) != 1 || only(got[0]) != "1" {
			t.Errorf("ended: %v", got)
		}
		if got := c.rows(t, clickhouse.RunEndedSQL, uuid.New()); len(got) != 0 {
			t.Errorf("unknown run: %v", got)
		}
		if got := c.rows(t, clickhouse.RunsEndedSQL, uuidGroupSet(id, uuid.New())); len(got) != 1 ||
			fmt.Sprint(got[0]["id"]) != id.String() || fmt.Sprint(got[0]["ended"]) != "1" {
			t.Errorf("RunsEndedSQL: %v, want the run, ended, and no row for the unknown one", got)
		}
		if got := c.rows(t, clickhouse.RunInputsSQL, id); len(got) != 1 || got[0]["inputs"] != `{"q":  "spaced"}` {
			t.Errorf("inputs: %v", got)
		}
		if got := c.rows(t, clickhouse.RunOutputsSQL, id); len(got) != 1 || got[0]["outputs"] != `{"a":1}` {
			t.Errorf("outputs: %v", got)
		}
	})
}

// only is a one-column row's value as text: RunEndedSQL's column is named
// by its expression, which engines spell differently.
func only(row map[string]any) string {
	for _, v := range row {
		return fmt.Sprint(v)
	}
	return ""
}
