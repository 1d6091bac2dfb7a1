package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	iapp "github.com/runhook/runhook/internal/app"
	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/retention"
	"github.com/runhook/runhook/internal/schedules"
)

func (a *app) retentionCmd() *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "retention [--dry-run]",
		Short: "Drop the day partitions older than retention.* allows, once, now",
		Long: "Apply retention.* once, directly on ClickHouse: list the partitions of the retained tables, and\n" +
			"drop each whole day (or month) older than its table's retention; 0 keeps a table forever. The\n" +
			"worker does the same hourly from the Temporal Schedule " + schedules.RetentionID("runhook") + " (<task queue>-retention),\n" +
			"which `rules apply` creates. --dry-run prints what would be dropped and drops nothing.",
		Args: cobra.NoArgs,
		RunE: a.withStore(func(cmd *cobra.Command, store *clickhouse.Store) error {
			policy := iapp.Retention(a.cfg.Retention)
			out := cmd.OutOrStdout()
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TABLE\tKEPT")
			for _, table := range retention.Tables() {
				keep, _ := policy.Keep(table)
				fmt.Fprintf(tw, "%s\t%s\n", table, days(keep))
			}
			tw.Flush()

			res, err := retention.Apply(cmd.Context(), store, policy, time.Now().UTC(), dryRun)
			verb, summary := "dropped", "dropped"
			if dryRun {
				verb, summary = "would drop", "to drop (dry run, nothing dropped)"
			}
			for _, p := range res.Dropped {
				fmt.Fprintf(out, "%s %s partition %s\n", verb, p.Table, p.ID)
			}
			if err != nil && len(res.Dropped) == 0 {
				return err
			}
			fmt.Fprintf(out, "retention: %d partition(s) of %d table(s) %s\n", len(res.Dropped), res.Tables(), summary)
			return err
		}),
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would be dropped, drop nothing")
	return cmd
}

// days prints a retention in days, the only unit config allows.
func days(d time.Duration) string {
	if d == 0 {
		return "forever"
	}
	n := int(d / (24 * time.Hour))
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}
