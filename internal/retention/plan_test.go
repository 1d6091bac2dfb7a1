package retention_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runhook/runhook/internal/retention"
)

const day = 24 * time.Hour

// now is mid-afternoon, so "whole day" and "now - retention" differ.
var now = time.Date(2026, 3, 15, 14, 30, 0, 0, time.UTC)

func parts(table string, ids ...string) []retention.Partition {
	var out []retention.Partition
	for _, id := range ids {
		out = append(out, retention.Partition{Table: table, ID: id})
	}
	return out
}

func plan(t *testing.T, p retention.Policy, present []retention.Partition) []retention.Partition {
	t.Helper()
	got, err := retention.Plan(p, now, nil, present)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestDayPartitionGoesOnceItsWholeDayIsOlderThanRetention(t *testing.T) {
	// now - 7 days is 2026-03-08 14:30: the 7th ended before it, the 8th
	// has rows younger than 7 days.
	got := plan(t, retention.Policy{Arrivals: 7 * day}, parts("run_arrivals", "20260306", "20260307", "20260308", "20260315"))
	if want := parts("run_arrivals", "20260306", "20260307"); !reflect.DeepEqual(got, want) {
		t.Errorf("drop %v, want %v", got, want)
	}
	// A day that ends exactly at now - retention is wholly older than it.
	at := time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC).Add(7 * day)
	got, err := retention.Plan(retention.Policy{Arrivals: 7 * day}, at, nil, parts("run_arrivals", "20260308", "20260309"))
	if err != nil || !reflect.DeepEqual(got, parts("run_arrivals", "20260308")) {
		t.Errorf("at the day's end: drop %v, %v", got, err)
	}
}

func TestEachTableFollowsItsRetention(t *testing.T) {
	p := retention.Policy{Runs: 30 * day, Feedback: 60 * day, Arrivals: 7 * day, Events: 10 * day, Attempts: 3 * day}
	old := "20250101" // older than every retention
	recent := "20260314"
	var present []retention.Partition
	for _, table := range []string{"runs", "feedback", "run_arrivals", "feedback_arrivals", "rule_events",
		"delivery_outcomes", "delivery_ends", "delivery_attempts"} {
		present = append(present, parts(table, old, recent)...)
	}
	present = append(present, parts("run_keys", "202501", "202603")...)
	present = append(present, parts("feedback_keys", "202501", "202603")...)
	present = append(present, parts("rule_claims", "202501", "202603")...)
	got := plan(t, p, present)
	var want []retention.Partition
	for _, part := range present {
		if part.ID == old || part.ID == "202501" {
			want = append(want, part)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("drop %v\nwant %v", got, want)
	}

	// Each table's own retention, seen at its edge.
	for _, tc := range []struct {
		table string
		keep  time.Duration
	}{
		{"runs", p.Runs}, {"feedback", p.Feedback}, {"run_arrivals", p.Arrivals}, {"feedback_arrivals", p.Arrivals},
		{"rule_events", p.Events}, {"delivery_outcomes", p.Events}, {"delivery_ends", p.Events},
		{"delivery_attempts", p.Attempts},
	} {
		cut := now.Add(-tc.keep)
		lastGone := cut.AddDate(0, 0, -1).Format("20060102") // ended before the cut
		firstKept := cut.Format("20060102")                  // the cut falls in it
		got := plan(t, p, parts(tc.table, lastGone, firstKept))
		if !reflect.DeepEqual(got, parts(tc.table, lastGone)) {
			t.Errorf("%s kept %s: drop %v, want only %s", tc.table, tc.keep, got, lastGone)
		}
		if keep, known := p.Keep(tc.table); !known || keep != tc.keep {
			t.Errorf("Keep(%s) = %s, %v", tc.table, keep, known)
		}
	}
}

func TestMonthPartitionGoesOnceItsWholeMonthIsOlderThanRetention(t *testing.T) {
	// now - 30 days is 2026-02-13 14:30: January ended before it, February not.
	p := retention.Policy{Runs: 30 * day, Feedback: 30 * day}
	got := plan(t, p, append(parts("run_keys", "202512", "202601", "202602"), parts("feedback_keys", "202601", "202602")...))
	want := append(parts("run_keys", "202512", "202601"), parts("feedback_keys", "202601")...)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("drop %v, want %v", got, want)
	}
}

func TestKeepNeverDrops(t *testing.T) {
	var present []retention.Partition
	for _, table := range retention.Tables() {
		id := "19991231"
		if strings.HasSuffix(table, "_keys") || table == "rule_claims" {
			id = "199912"
		}
		present = append(present, parts(table, id)...)
	}
	if got := plan(t, retention.Policy{}, present); len(got) != 0 {
		t.Errorf("everything kept forever, yet drop %v", got)
	}
}

func TestClaims(t *testing.T) {
	claims := parts("rule_claims", "202512", "202601", "202602")
	for _, tc := range []struct {
		name string
		p    retention.Policy
		want []retention.Partition
	}{
		// The defaults keep runs: an old run can still be matched, so its claim stays.
		{"runs kept", retention.Policy{Arrivals: 7 * day, Events: 30 * day, Attempts: 30 * day}, nil},
		// Arrivals kept: a backfill can re-read any old window.
		{"arrivals kept", retention.Policy{Runs: 7 * day}, nil},
		// max(7, 0, 7) + 1 = 8 days: now - 8 days is 2026-03-07, so February went.
		{"runs and arrivals", retention.Policy{Runs: 7 * day, Arrivals: 7 * day}, claims},
		// max(30, 0, 7) + 1 = 31 days: 2026-02-12; January ended before it.
		{"runs longest", retention.Policy{Runs: 30 * day, Arrivals: 7 * day}, claims[:2]},
		// max(7, 60, 7) + 1 = 61 days: 2026-01-13; only December ended before it.
		{"feedback longest", retention.Policy{Runs: 7 * day, Feedback: 60 * day, Arrivals: 7 * day}, claims[:1]},
		// max(7, 0, 45) + 1 = 46 days: 2026-01-28; December only.
		{"arrivals longest", retention.Policy{Runs: 7 * day, Arrivals: 45 * day}, claims[:1]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := plan(t, tc.p, claims); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("drop %v, want %v", got, tc.want)
			}
		})
	}
	// One day past the longest: a month whose end is exactly max + 1 day ago goes, one a second later stays.
	p := retention.Policy{Runs: 7 * day, Arrivals: 7 * day}
	march := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		at   time.Time
		drop bool
	}{{march.Add(8 * day), true}, {march.Add(8*day - time.Second), false}} {
		got, err := retention.Plan(p, tc.at, nil, parts("rule_claims", "202602"))
		if err != nil || (len(got) == 1) != tc.drop {
			t.Errorf("at %s: drop %v, %v; want dropped=%v", tc.at, got, err, tc.drop)
		}
	}
	if keep, _ := p.Keep("rule_claims"); keep != 8*day {
		t.Errorf("claims kept %s, want 8 days", keep)
	}
}

func TestUnknownTablesIgnoredBadIDsRefused(t *testing.T) {
	p := retention.Policy{Runs: day, Arrivals: day}
	if got := plan(t, p, parts("rules", "20000101", "all")); len(got) != 0 {
		t.Errorf("a table retention does not know: drop %v", got)
	}
	if _, known := p.Keep("rules"); known {
		t.Error("Keep knows rules")
	}
	for _, tc := range []struct{ table, id string }{
		{"runs", "all"}, {"runs", "202601"}, {"runs", "20260230"}, {"runs", "2026-01-01"}, {"run_keys", "20260101"},
		{"run_keys", "202613"}, {"rule_claims", "tuple()"},
	} {
		_, err := retention.Plan(p, now, nil, parts(tc.table, tc.id))
		if err == nil || !strings.Contains(err.Error(), tc.table) || !strings.Contains(err.Error(), `"`+tc.id+`"`) {
			t.Errorf("%s %q: err = %v, want one naming the table and partition", tc.table, tc.id, err)
		}
	}
	// Kept forever: not even parsed, as nothing is decided about it.
	if _, err := retention.Plan(retention.Policy{}, now, nil, parts("runs", "all")); err != nil {
		t.Errorf("a kept table's partition: %v", err)
	}
}

func TestDaysAreTheServersCalendar(t *testing.T) {
	// A server at UTC+10 cuts 2026-03-07 at 2026-03-06T14:00Z..2026-03-07T14:00Z,
	// so with 7 days from 2026-03-14T13:59Z it is just inside, from 14:00Z gone.
	loc := time.FixedZone("UTC+10", 10*3600)
	cut := time.Date(2026, 3, 7, 14, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		now  time.Time
		drop bool
	}{{cut.Add(7*day - time.Minute), false}, {cut.Add(7 * day), true}} {
		got, err := retention.Plan(retention.Policy{Events: 7 * day}, tc.now, loc, parts("rule_events", "20260307"))
		if err != nil || (len(got) == 1) != tc.drop {
			t.Errorf("at %s: drop %v, %v; want dropped=%v", tc.now, got, err, tc.drop)
		}
	}
}

func TestTablesAndIDs(t *testing.T) {
	want := []string{"delivery_attempts", "delivery_ends", "delivery_outcomes", "feedback", "feedback_arrivals",
		"feedback_keys", "rule_claims", "rule_events", "run_arrivals", "run_keys", "run_writes", "runs"}
	got := slices.Sorted(slices.Values(retention.Tables()))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Tables() = %v, want %v", got, want)
	}
	for id, ok := range map[string]bool{"20260101": true, "202601": true, "2026010": false, "all": false,
		"2026-01": false, "20260101; DROP": false, "": false, "２０２６０１": false} {
		if retention.IsPartitionID(id) != ok {
			t.Errorf("IsPartitionID(%q) = %v", id, !ok)
		}
	}
}
