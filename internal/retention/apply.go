package retention

import (
	"context"
	"errors"
	"fmt"
	"time"
	// The server's timezone is loaded by name, and the runtime image may
	// have no zoneinfo of its own (slim Debian).
	_ "time/tzdata"
)

// Store is what Apply needs of ClickHouse (*clickhouse.Store).
type Store interface {
	// Timezone is the server's timezone, in which partition days are cut.
	Timezone(ctx context.Context) (string, error)
	// Partitions lists the active partitions of the named tables.
	Partitions(ctx context.Context, tables []string) ([]Partition, error)
	DropPartition(ctx context.Context, table, id string) error
}

// Result is what Apply dropped, or with dryRun would drop.
type Result struct {
	Dropped []Partition
}

// Tables counts the tables Dropped touches.
func (r Result) Tables() int {
	seen := map[string]bool{}
	for _, p := range r.Dropped {
		seen[p.Table] = true
	}
	return len(seen)
}

// Apply lists the retained tables' partitions, plans with p at now and drops
// what the plan says, unless dryRun. A partition that fails to drop does not
// stop the others (one ClickHouse refuses, e.g. over
// max_partition_size_to_drop, would otherwise hold back every later one); the
// failures are returned together, and Dropped holds what did go.
func Apply(ctx context.Context, s Store, p Policy, now time.Time, dryRun bool) (Result, error) {
	tz, err := s.Timezone(ctx)
	if err != nil {
		return Result{}, err
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return Result{}, fmt.Errorf("retention: the server's timezone %q: %w", tz, err)
	}
	present, err := s.Partitions(ctx, Tables())
	if err != nil {
		return Result{}, err
	}
	drop, err := Plan(p, now, loc, present)
	if err != nil || dryRun {
		return Result{Dropped: drop}, err
	}
	var res Result
	var errs []error
	for _, part := range drop {
		if err := s.DropPartition(ctx, part.Table, part.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		res.Dropped = append(res.Dropped, part)
	}
	return res, errors.Join(errs...)
}
