//go:build chdb

// The rotation's reads on a current ClickHouse, with the harness of chdb_test.go.
package clickhouse_test

import (
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/schema"
)

func TestChdbReseal(t *testing.T) {
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

	t.Run("live webhooks", func(t *testing.T) {
		cols := columnsOf(t, clickhouse.InsertWebhooksSQL)
		a, b := uuid.New(), uuid.New()
		if uuidLess(b, a) {
			a, b = b, a
		}
		a0, a0b := webhook(a, 0, "v1", at(0)), webhook(a, 0, "v2", at(10))
		gone := webhook(a, 1, "gone", at(10))
		gone.Deleted = true
		b0 := webhook(b, 0, "v1", at(0))
		c.insert(t, clickhouse.InsertWebhooksSQL, webhookRow(a0), webhookRow(webhook(a, 1, "v1", at(0))), webhookRow(b0))
		c.insert(t, clickhouse.InsertWebhooksSQL, webhookRow(a0b), webhookRow(gone))
		wantColumns(t, c.rows(t, clickhouse.LiveWebhooksSQL), cols, webhookRow(a0b), webhookRow(b0))
	})

	t.Run("run webhooks after", func(t *testing.T) {
		ids := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
		slices.SortFunc(ids, func(x, y uuid.UUID) int {
			if uuidLess(x, y) {
				return -1
			}
			return 1
		})
		for _, id := range ids {
			old := clickhouse.RunWebhook{RunID: id, URLSealed: "rh1:k:old", URLRedacted: "https://h/", KeyID: "k", CreatedAt: at(0)}
			cur := old
			cur.URLSealed, cur.CreatedAt = "rh1:k:new", at(10)
			c.insert(t, clickhouse.InsertRunWebhooksSQL, runWebhookRow(old), runWebhookRow(cur))
		}
		first := c.rows(t, clickhouse.RunWebhooksAfterSQL, uuid.Nil.String(), uint64(2))
		if len(first) != 2 || first[0]["run_id"] != ids[0].String() || first[1]["run_id"] != ids[1].String() || first[0]["url_sealed"] != "rh1:k:new" {
			t.Fatalf("first page = %v", first)
		}
		rest := c.rows(t, clickhouse.RunWebhooksAfterSQL, ids[1].String(), uint64(2))
		if len(rest) != 1 || rest[0]["run_id"] != ids[2].String() || rest[0]["url_sealed"] != "rh1:k:new" {
			t.Fatalf("second page = %v", rest)
		}
		if end := c.rows(t, clickhouse.RunWebhooksAfterSQL, ids[2].String(), uint64(2)); len(end) != 0 {
			t.Errorf("after the last = %v", end)
		}
	})
}
