// Package retention decides which partitions of runhook's tables are old
// enough to drop. ClickHouse 18.16 has no TTL, so retention drops whole
// partitions (schema/0009 partitions each growing table by day, or by month
// for the small key tables), the same way on every ClickHouse version. Plan is
// pure: the caller lists the partitions and drops what it returns (Apply).
package retention

import (
	"fmt"
	"time"
)

// Policy is how long each kind of data is kept (config retention.*); 0 keeps
// it forever.
type Policy struct {
	Runs     time.Duration
	Feedback time.Duration
	Arrivals time.Duration
	Events   time.Duration
	Attempts time.Duration
}

// Partition is one partition of a table, by its partition ID
// (system.parts.partition_id): YYYYMMDD or YYYYMM.
type Partition struct {
	Table string
	ID    string
}

func (p Partition) String() string { return p.Table + " " + p.ID }

type period int

const (
	day period = iota
	month
)

// table is one retained table: the period its partitions cover and which
// retention applies to it.
type table struct {
	name   string
	period period
	keep   func(Policy) time.Duration
}

// tables follow the PARTITION BY of schema/0009_windows_and_retention.sql.
var tables = []table{
	{"runs", day, func(p Policy) time.Duration { return p.Runs }},
	// run_keys tells which days of runs hold a run: it lives as long as runs.
	{"run_keys", month, func(p Policy) time.Duration { return p.Runs }},
	// run_writes is the log runs are folded from: a run whose create has gone
	// with it is folded over its stored version (runs.Base).
	{"run_writes", month, func(p Policy) time.Duration { return p.Runs }},
	{"feedback", day, func(p Policy) time.Duration { return p.Feedback }},
	{"feedback_keys", month, func(p Policy) time.Duration { return p.Feedback }},
	{"run_arrivals", day, func(p Policy) time.Duration { return p.Arrivals }},
	{"feedback_arrivals", day, func(p Policy) time.Duration { return p.Arrivals }},
	{"rule_events", day, func(p Policy) time.Duration { return p.Events }},
	{"delivery_outcomes", day, func(p Policy) time.Duration { return p.Events }},
	{"delivery_ends", day, func(p Policy) time.Duration { return p.Events }},
	{"delivery_attempts", day, func(p Policy) time.Duration { return p.Attempts }},
	{"rule_claims", month, Policy.claims},
}

// claims is how long rule_claims are kept. A claim is what keeps a run from
// being handed on twice for a rule, so it must outlive every window that
// could read its run again. A run re-enters windows through a new arrival of
// itself or of feedback on it (run_arrivals, feedback_arrivals, kept for
// Arrivals), and a window can match it only while the run is stored (Runs).
// So claims go a day after the longest of runs, arrivals and feedback (so a
// claim never goes while anything about its run is kept), and only when both
// runs and arrivals have a retention: with either kept forever an old run can
// still be matched, and its claim is needed forever. This assumes a run is
// not written again long after it ended: a new version is a new arrival, and
// one written after its claim has gone would be handed on again.
func (p Policy) claims() time.Duration {
	if p.Runs == 0 || p.Arrivals == 0 {
		return 0
	}
	return max(p.Runs, p.Feedback, p.Arrivals) + 24*time.Hour
}

// Tables names the tables retention applies to.
func Tables() []string {
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = t.name
	}
	return names
}

// Keep is how long a table's data is kept under p; 0 is forever, and known
// is false for a table retention does not apply to.
func (p Policy) Keep(name string) (keep time.Duration, known bool) {
	for _, t := range tables {
		if t.name == name {
			return t.keep(p), true
		}
	}
	return 0, false
}

// Plan returns the partitions of present to drop at now: a day partition once
// its whole day ends at least its table's retention before now, a month
// partition once its whole month does, so no row is dropped younger than its
// retention and rows live up to one day (or month) longer. Partition days and
// months are the server's calendar: loc is the server's timezone (nil: UTC).
// Tables kept forever and tables retention does not know are left alone; a
// partition ID of a known table that is not a date is an error naming it.
func Plan(p Policy, now time.Time, loc *time.Location, present []Partition) ([]Partition, error) {
	if loc == nil {
		loc = time.UTC
	}
	var drop []Partition
	for _, part := range present {
		var t *table
		for i := range tables {
			if tables[i].name == part.Table {
				t = &tables[i]
			}
		}
		if t == nil {
			continue
		}
		keep := t.keep(p)
		if keep <= 0 {
			continue
		}
		end, err := t.period.end(part.ID, loc)
		if err != nil {
			return nil, fmt.Errorf("retention: table %s: %w", part.Table, err)
		}
		if !end.After(now.Add(-keep)) {
			drop = append(drop, part)
		}
	}
	return drop, nil
}

// end parses a partition ID and returns when its period ends.
func (d period) end(id string, loc *time.Location) (time.Time, error) {
	layout, name, next := "20060102", "a day (YYYYMMDD)", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }
	if d == month {
		layout, name, next = "200601", "a month (YYYYMM)", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }
	}
	if id == "all" {
		// The one partition of a table that is not partitioned: the schema
		// is older than schema/0009.
		return time.Time{}, fmt.Errorf("partition %q is not %s: the table is not partitioned by time yet (run `starter migrate`)", id, name)
	}
	if !IsPartitionID(id) || len(id) != len(layout) {
		return time.Time{}, fmt.Errorf("partition %q is not %s", id, name)
	}
	start, err := time.ParseInLocation(layout, id, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("partition %q is not %s: %v", id, name, err)
	}
	return next(start), nil
}

// IsPartitionID reports whether id has the form of a retained table's
// partition ID: YYYYMMDD or YYYYMM, digits only.
func IsPartitionID(id string) bool {
	if len(id) != 8 && len(id) != 6 {
		return false
	}
	for _, r := range id {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
