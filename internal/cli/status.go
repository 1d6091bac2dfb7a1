package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	iapp "github.com/runhook/runhook/internal/app"
	"github.com/runhook/runhook/internal/rules"
	"github.com/runhook/runhook/internal/schedules"
	"github.com/runhook/runhook/internal/temporal"
	"github.com/runhook/runhook/workflows"
)

func (a *app) statusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Service health, workers, and each rule's state, watermark lag, feedback waits and last outcome",
		Long: "Check ClickHouse, Temporal and the workers polling the task queue, then list every rule with its\n" +
			"schedule state, how far its watermark trails now (from its newest finished tick), how many feedback\n" +
			"waits are running for it, and its newest delivery outcome. Exits non-zero when a service is down.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
			defer cancel()
			out := cmd.OutOrStdout()
			var down []string

			store, err := a.store(ctx)
			if err != nil {
				fmt.Fprintf(out, "clickhouse  DOWN  %v\n", err)
				down = append(down, "clickhouse")
			} else {
				defer store.Close()
				version, err := store.ServerVersion(ctx)
				n, err2 := store.CountRuns(ctx)
				if err = errors.Join(err, err2); err != nil {
					fmt.Fprintf(out, "clickhouse  DOWN  %v\n", err)
					down = append(down, "clickhouse")
				} else {
					fmt.Fprintf(out, "clickhouse  ok    %s at %s, database %s, %d runs\n", version, a.cfg.ClickHouse.Addr, store.Database(), n)
				}
			}

			c, err := temporal.Dial(ctx, a.cfg.Temporal, a.logger(io.Discard))
			if err != nil {
				fmt.Fprintf(out, "temporal    DOWN  %v\n", err)
				return fmt.Errorf("down: %v", append(down, "temporal"))
			}
			defer c.Close()
			fmt.Fprintf(out, "temporal    ok    %s, namespace %s\n", a.cfg.Temporal.Address, a.cfg.Temporal.Namespace)
			q, err := c.DescribeTaskQueue(ctx, a.cfg.Temporal.TaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
			if err != nil {
				return fmt.Errorf("describe task queue %s: %w", a.cfg.Temporal.TaskQueue, err)
			}
			workers := map[string]bool{}
			for _, p := range q.Pollers {
				workers[p.Identity] = true
			}
			state := "ok  "
			if len(workers) == 0 {
				state = "NONE"
				down = append(down, "workers")
			}
			fmt.Fprintf(out, "workers     %s  %d polling task queue %s\n", state, len(workers), a.cfg.Temporal.TaskQueue)

			if store != nil && !slices.Contains(down, "clickhouse") {
				svc, err := iapp.RuleService(a.cfg, store, c)
				if err != nil {
					return err
				}
				env := &ruleEnv{store: store, client: c, rules: svc}
				if err := a.printRuleStatus(ctx, out, env); err != nil {
					return err
				}
			}
			if len(down) > 0 {
				return fmt.Errorf("not healthy: %v", down)
			}
			return nil
		},
	}
}

func (a *app) printRuleStatus(ctx context.Context, out io.Writer, env *ruleEnv) error {
	all, err := env.store.Rules(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tSTATE\tINTERVAL\tWATERMARK LAG\tFEEDBACK WAITS\tLAST OUTCOME")
	for _, r := range all {
		spec, err := rules.ParseSpec([]byte(r.Spec))
		if err != nil {
			return fmt.Errorf("rule %s: %w", r.ID, err)
		}
		st, err := env.rules.Schedules.Get(ctx, r.ID)
		if err != nil {
			return err
		}
		state, err := env.rules.State(ctx, r.ID, st)
		if err != nil {
			return err
		}
		lag := "-"
		if wm, ok := watermark(ctx, env, st); ok {
			lag = time.Since(wm).Round(time.Second).String()
		}
		waits, err := env.client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowType = 'FeedbackWait' AND ExecutionStatus = 'Running' AND WorkflowId STARTS_WITH '%s/'", schedules.ID(r.ID)),
		})
		nWaits := "-"
		if err == nil {
			nWaits = fmt.Sprint(waits.Count)
		}
		last := "-"
		if o, ok, err := env.store.LastOutcome(ctx, r.ID); err != nil {
			return err
		} else if ok {
			last = o.Outcome + " " + o.At.UTC().Format(time.RFC3339)
			if o.Reason != "" {
				last += " (" + truncate(o.Reason, 60) + ")"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, state, spec.Interval, lag, nWaits, last)
	}
	return tw.Flush()
}

// watermark is the newest finished tick's watermark.
func watermark(ctx context.Context, env *ruleEnv, st schedules.State) (time.Time, bool) {
	for i := len(st.Ticks) - 1; i >= 0; i-- {
		t := st.Ticks[i]
		desc, err := env.client.DescribeWorkflowExecution(ctx, t.WorkflowID, t.FirstExecutionRunID)
		if err != nil || desc.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			continue
		}
		var res workflows.TickResult
		if err := env.client.GetWorkflow(ctx, t.WorkflowID, t.FirstExecutionRunID).Get(ctx, &res); err == nil && !res.Watermark.IsZero() {
			return res.Watermark, true
		}
	}
	return time.Time{}, false
}

func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
