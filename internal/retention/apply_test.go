package retention_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/runhook/runhook/internal/retention"
)

// fakeStore holds partitions in memory; the real one is tested in
// internal/clickhouse and, end to end, in activities and the CLI.
type fakeStore struct {
	tz      string
	parts   []retention.Partition
	listed  []string
	dropped []retention.Partition
	refuse  map[retention.Partition]bool
}

func (s *fakeStore) Timezone(context.Context) (string, error) { return s.tz, nil }

func (s *fakeStore) Partitions(_ context.Context, tables []string) ([]retention.Partition, error) {
	s.listed = tables
	return s.parts, nil
}

func (s *fakeStore) DropPartition(_ context.Context, table, id string) error {
	p := retention.Partition{Table: table, ID: id}
	if s.refuse[p] {
		return errors.New("refused " + p.String())
	}
	s.dropped = append(s.dropped, p)
	return nil
}

func TestApplyDropsThePlan(t *testing.T) {
	s := &fakeStore{tz: "Etc/UTC", parts: append(parts("run_arrivals", "20250101", "20260315"), parts("runs", "20250101")...)}
	res, err := retention.Apply(context.Background(), s, retention.Policy{Arrivals: 7 * day}, now, false)
	if err != nil {
		t.Fatal(err)
	}
	want := parts("run_arrivals", "20250101")
	if !reflect.DeepEqual(res.Dropped, want) || !reflect.DeepEqual(s.dropped, want) || res.Tables() != 1 {
		t.Errorf("dropped %v (store saw %v, %d tables), want %v", res.Dropped, s.dropped, res.Tables(), want)
	}
	if !reflect.DeepEqual(s.listed, retention.Tables()) {
		t.Errorf("listed %v, want the retained tables", s.listed)
	}
}

func TestApplyDryRunDropsNothing(t *testing.T) {
	s := &fakeStore{tz: "UTC", parts: append(parts("run_arrivals", "20250101"), parts("rule_events", "20250101")...)}
	res, err := retention.Apply(context.Background(), s, retention.Policy{Arrivals: 7 * day, Events: 7 * day}, now, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Dropped) != 2 || res.Tables() != 2 || len(s.dropped) != 0 {
		t.Errorf("dry run: would drop %v, store dropped %v", res.Dropped, s.dropped)
	}
}

func TestApplyGoesOnPastAFailedDrop(t *testing.T) {
	refused := retention.Partition{Table: "run_arrivals", ID: "20250101"}
	s := &fakeStore{tz: "UTC", parts: parts("run_arrivals", "20250101", "20250102"), refuse: map[retention.Partition]bool{refused: true}}
	res, err := retention.Apply(context.Background(), s, retention.Policy{Arrivals: 7 * day}, now, false)
	if err == nil || !strings.Contains(err.Error(), "refused run_arrivals 20250101") {
		t.Fatalf("err = %v, want the refused drop", err)
	}
	if want := parts("run_arrivals", "20250102"); !reflect.DeepEqual(res.Dropped, want) {
		t.Errorf("dropped %v, want %v", res.Dropped, want)
	}
}

func TestApplyRefusesWhatItCannotRead(t *testing.T) {
	s := &fakeStore{tz: "Nowhere/Atlantis"}
	if _, err := retention.Apply(context.Background(), s, retention.Policy{}, now, false); err == nil || !strings.Contains(err.Error(), "Nowhere/Atlantis") {
		t.Errorf("unknown timezone: err = %v", err)
	}
	s = &fakeStore{tz: "UTC", parts: parts("runs", "all", "20200101")}
	if _, err := retention.Apply(context.Background(), s, retention.Policy{Runs: day}, now, false); err == nil || len(s.dropped) != 0 {
		t.Errorf("a partition that is not a day: err = %v, dropped %v", err, s.dropped)
	}
}
