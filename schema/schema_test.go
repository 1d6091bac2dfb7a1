package schema_test

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/runhook/runhook/schema"
)

func TestSplit(t *testing.T) {
	got := schema.Split("-- a comment\nCREATE TABLE a (x UInt8)\nENGINE = Log;\n\n-- another\nCREATE TABLE b (y String) ENGINE = Log;\nSELECT 1")
	want := []string{"CREATE TABLE a (x UInt8)\nENGINE = Log", "CREATE TABLE b (y String) ENGINE = Log", "SELECT 1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Split = %q\nwant %q", got, want)
	}
}

func TestMigrationsInOrderAndPortable(t *testing.T) {
	ms, err := schema.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 2 {
		t.Fatalf("%d migrations", len(ms))
	}
	// Tables whose reads take the newest row of a key, so a row written twice is one.
	replacing := map[string]bool{}
	for _, m := range ms {
		for _, stmt := range m.Statements {
			if c := createTable.FindStringSubmatch(stmt); c != nil && strings.Contains(stmt, "ReplacingMergeTree") {
				replacing[c[1]] = true
			}
		}
	}
	for i, m := range ms {
		if i > 0 && m.Version <= ms[i-1].Version {
			t.Errorf("migration %d after %d", m.Version, ms[i-1].Version)
		}
		for _, stmt := range m.Statements {
			up := strings.ToUpper(stmt)
			// Constructs 18.16 lacks; the schema must run there and on current releases.
			for _, banned := range []string{"DATETIME64", "MAP(", " TTL ", "IF NOT EXISTS`", "ADD COLUMN IF NOT EXISTS", "JSONEXTRACT", "LOWCARDINALITY"} {
				if strings.Contains(up, banned) {
					t.Errorf("%04d_%s uses %s, which ClickHouse 18.16 lacks", m.Version, m.Name, banned)
				}
			}
			// ADD COLUMN and RENAME TABLE are made idempotent by the
			// migrator, which skips a column that exists and a rename
			// already done. An INSERT ... SELECT run again writes its rows
			// again, which a ReplacingMergeTree table absorbs and a
			// rebuild's <name>_next table avoids (the migrator empties it
			// first).
			ins := insertSelect.FindStringSubmatch(stmt)
			idempotent := strings.Contains(up, "IF NOT EXISTS") || strings.Contains(up, "IF EXISTS") ||
				addColumn.MatchString(stmt) || renameOne.MatchString(stmt) ||
				ins != nil && (replacing[ins[1]] || strings.HasSuffix(ins[1], "_next"))
			if !idempotent {
				t.Errorf("%04d_%s: statement is not idempotent: %.60s", m.Version, m.Name, stmt)
			}
		}
	}
}

var (
	addColumn    = regexp.MustCompile(`(?is)^\s*ALTER\s+TABLE\s+\w+\s+ADD\s+COLUMN\s+\w+\s`)
	createTable  = regexp.MustCompile(`(?is)^\s*CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+(\w+)`)
	insertSelect = regexp.MustCompile(`(?is)^\s*INSERT\s+INTO\s+(\w+)\s*\([^)]*\)\s*SELECT\s`)
	renameOne    = regexp.MustCompile(`(?is)^\s*RENAME\s+TABLE\s+\w+\s+TO\s+\w+\s*$`)
)
