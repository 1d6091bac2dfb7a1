package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	iapp "github.com/runhook/runhook/internal/app"
	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/ruleops"
	"github.com/runhook/runhook/internal/rules"
	"github.com/runhook/runhook/internal/ruleservice"
	"github.com/runhook/runhook/internal/rulesync"
	"github.com/runhook/runhook/internal/schedules"
	"github.com/runhook/runhook/internal/temporal"
)

// ruleEnv is what the rules commands talk to: the rules' operations, and
// the connections they hold, closed after.
type ruleEnv struct {
	store  *clickhouse.Store
	client client.Client
	rules  *ruleservice.Service
}

func (e *ruleEnv) Close() {
	if e.client != nil {
		e.client.Close()
	}
	if e.store != nil {
		e.store.Close()
	}
}

// ruleEnv opens ClickHouse, and Temporal unless store-only: preview and
// test read and post without touching the schedules.
func (a *app) ruleEnv(ctx context.Context, storeOnly bool) (*ruleEnv, error) {
	store, err := a.store(ctx)
	if err != nil {
		return nil, err
	}
	env := &ruleEnv{store: store}
	if !storeOnly {
		if env.client, err = temporal.Dial(ctx, a.cfg.Temporal, a.logger(io.Discard)); err != nil {
			store.Close()
			return nil, err
		}
	}
	if env.rules, err = iapp.RuleService(a.cfg, store, env.client); err != nil {
		env.Close()
		return nil, err
	}
	return env, nil
}

func (a *app) lookupEnv(name string) (string, bool) {
	if a.environ == nil {
		return os.LookupEnv(name)
	}
	for _, kv := range a.environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

func (a *app) rulesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Manage automation rules: apply a rules file, list, inspect, preview, test, pause, resume, trigger, backfill",
		Long: "Rules live in a YAML file (see examples/rules.yaml) and are applied with `rules apply -f FILE`.\n" +
			"Each rule gets a Temporal Schedule with ID rule-<rule id>; watch its ticks in the Temporal UI.\n" +
			"RULE arguments take a rule's id or its name.",
	}
	cmd.AddCommand(a.rulesApplyCmd(), a.rulesListCmd(), a.rulesGetCmd(), a.rulesPauseCmd(true), a.rulesPauseCmd(false),
		a.rulesTriggerCmd(), a.rulesBackfillCmd(), a.rulesDeleteCmd(), a.rulesLogsCmd(), a.rulesRedeliverCmd(),
		a.rulesPreviewCmd(), a.rulesTestCmd())
	return cmd
}

func (a *app) rulesApplyCmd() *cobra.Command {
	var file string
	var prune, dryRun bool
	cmd := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Validate a rules file and make the stored rules and their schedules match it",
		Long: "Validate every rule of FILE first; any error refuses the whole file and changes nothing.\n" +
			"${VAR} in the file is replaced from the environment (a missing variable is an error).\n" +
			"Then print the plan (create / update / unchanged / delete) and apply it: store the rules with their\n" +
			"webhook URLs, headers and signing secrets encrypted, and create or update one Temporal Schedule\n" +
			"per rule (paused when enabled: false), and the hourly retention schedule. Applying the same file\n" +
			"twice changes nothing.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return errors.New("rules apply: -f FILE is required")
			}
			policy := iapp.URLPolicy(a.cfg.Delivery)
			desired, err := rules.Load(file, a.lookupEnv, policy)
			if err != nil {
				return fmt.Errorf("rules file refused, nothing changed:\n%w", err)
			}
			box, err := iapp.Secrets(a.cfg.Secrets)
			if err != nil {
				return err
			}
			if box == nil {
				return errors.New("secrets.key is not set: rules apply needs it to encrypt webhook URLs, headers and signing secrets (set RUNHOOK_SECRETS_KEY)")
			}
			env, err := a.ruleEnv(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer env.Close()
			plan, err := env.rules.Plan(cmd.Context(), desired, prune)
			if err != nil {
				return err
			}
			printPlan(cmd.OutOrStdout(), plan, dryRun)
			if dryRun {
				return nil
			}
			state, err := env.rules.Apply(cmd.Context(), plan)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "applied")
			fmt.Fprintf(cmd.OutOrStdout(), "retention schedule %s: %s (hourly)\n", schedules.RetentionID(a.cfg.Temporal.TaskQueue), state)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "rules file (YAML)")
	cmd.Flags().BoolVar(&prune, "prune", false, "delete stored rules (and their schedules) that are not in the file")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan only")
	return cmd
}

func printPlan(out io.Writer, plan []rulesync.Change, dryRun bool) {
	counts := rulesync.Count(plan)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, c := range plan {
		why := ""
		if c.Why != "" {
			why = "(" + c.Why + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Action, c.Name, c.RuleID, why)
	}
	tw.Flush()
	prefix := "plan"
	if dryRun {
		prefix = "plan (dry run, nothing applied)"
	}
	fmt.Fprintf(out, "%s: %d to create, %d to update, %d unchanged, %d to delete\n", prefix,
		counts[rulesync.Create], counts[rulesync.Update], counts[rulesync.Unchanged], counts[rulesync.Delete])
}

func (a *app) rulesListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the rules with their state (webhook URLs redacted)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := a.ruleEnv(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer env.Close()
			all, err := env.rules.List(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tID\tSTATE\tINTERVAL\tFEEDBACK\tWEBHOOKS")
			for _, r := range all {
				fb := "-"
				if len(r.Spec.Feedback.Require) > 0 {
					fb = strings.Join(r.Spec.Feedback.Require, ",")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Spec.Name, r.Spec.ID, r.State, r.Spec.Interval, fb, strings.Join(r.Spec.Webhooks, " "))
			}
			return tw.Flush()
		},
	}
}

func (a *app) rulesGetCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "get RULE",
		Short: "Show one rule (secrets redacted), its schedule and recent ticks",
		Args:  cobra.ExactArgs(1),
		RunE: a.withRule(func(cmd *cobra.Command, ctx context.Context, env *ruleEnv, r clickhouse.StoredRule) error {
			view, err := env.rules.Get(ctx, r)
			if err != nil {
				return err
			}
			out, _ := json.MarshalIndent(view, "", "  ")
			fmt.Fprintln(cmd.OutOrStdout(), string(out))
			return nil
		}),
	}
}

func (a *app) rulesPauseCmd(pause bool) *cobra.Command {
	use, short := "resume RULE", "Resume a paused rule: its schedule ticks again and deliveries restart"
	if pause {
		use, short = "pause RULE", "Pause a rule: its schedule stops ticking and nothing is delivered"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Long: short + ".\nRuns stored while a rule is paused are picked up after it resumes (the windows catch up);\n" +
			"runs already handed to delivery when it pauses are recorded skipped.",
		Args: cobra.ExactArgs(1),
		RunE: a.withRule(func(cmd *cobra.Command, ctx context.Context, env *ruleEnv, r clickhouse.StoredRule) error {
			state := "paused"
			if !pause {
				state = "resumed"
			}
			why := state + " with starter rules " + strings.Fields(use)[0]
			var err error
			if pause {
				err = env.rules.Pause(ctx, r, why, time.Now())
			} else {
				err = env.rules.Resume(ctx, r, why, time.Now())
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rule %q (%s): %s\n", r.Name, r.ID, state)
			return nil
		}),
	}
}

func (a *app) rulesTriggerCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "trigger RULE",
		Short: "Tick a rule now (after the running tick, if any)",
		Args:  cobra.ExactArgs(1),
		RunE: a.withRule(func(cmd *cobra.Command, ctx context.Context, env *ruleEnv, r clickhouse.StoredRule) error {
			if err := env.rules.Trigger(ctx, r); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rule %q (%s): tick requested\n", r.Name, r.ID)
			return nil
		}),
	}
}

func (a *app) rulesBackfillCmd() *cobra.Command {
	var from, to string
	cmd := &cobra.Command{
		Use:   "backfill RULE --from T --to T",
		Short: "Cover an old window of server insertion time; runs already handed on for the rule are not sent again",
		Long: "Record a backfill of (from, to] and tick the rule now. The rule's ticks work through it in windows\n" +
			"after their regular window, so it never runs beside a tick; runs the rule already claimed are skipped.\n" +
			"Times are RFC 3339 (2026-11-20T00:00:00Z) or relative to now (-2h).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// The window is checked before anything is dialled.
			now := time.Now().UTC()
			f, err := ruleservice.ParseWhen(from, now)
			if err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			t, err := ruleservice.ParseWhen(to, now)
			if err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			if err := ruleops.CheckWindow(f, t, now, a.cfg.Retention.Arrivals); err != nil {
				return err
			}
			return a.withRule(func(cmd *cobra.Command, ctx context.Context, env *ruleEnv, r clickhouse.StoredRule) error {
				b, err := env.rules.Backfill(ctx, r, f, t, now)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "rule %q (%s): backfill %s of (%s, %s] requested; the rule's ticks work through it\n",
					r.Name, r.ID, b.ID, f.Format(time.RFC3339), t.Format(time.RFC3339))
				return nil
			})(cmd, args)
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "start of the window (exclusive)")
	cmd.Flags().StringVar(&to, "to", "", "end of the window (inclusive)")
	_ = cmd.MarkFlagRequired("from")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

func (a *app) rulesDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete RULE",
		Short: "Delete a rule, its webhooks and its schedule (its delivery records are kept)",
		Args:  cobra.ExactArgs(1),
		RunE: a.withRule(func(cmd *cobra.Command, ctx context.Context, env *ruleEnv, r clickhouse.StoredRule) error {
			if err := env.rules.Delete(ctx, r); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rule %q (%s): deleted\n", r.Name, r.ID)
			return nil
		}),
	}
}

func (a *app) rulesLogsCmd() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "logs RULE",
		Short: "What happened to each run for a rule: matched, waiting, timed_out, delivered, failed, skipped",
		Args:  cobra.ExactArgs(1),
		RunE: a.withRule(func(cmd *cobra.Command, ctx context.Context, env *ruleEnv, r clickhouse.StoredRule) error {
			entries, err := env.rules.Logs(ctx, r, limit, uuid.Nil)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tRUN\tEVENT\tWEBHOOK\tWHERE\tREASON")
			for i := len(entries) - 1; i >= 0; i-- { // oldest first, like a log
				e := entries[i]
				hook := "-"
				if e.Webhook >= 0 {
					hook = fmt.Sprint(e.Webhook)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.At.Format("2006-01-02T15:04:05.000Z"), e.RunID, e.Event, hook, e.Where, e.Reason)
			}
			return tw.Flush()
		}),
	}
	cmd.Flags().IntVar(&limit, "limit", 200, "show the newest N entries")
	return cmd
}

// withRule wraps a command whose one argument is a rule: it opens the stores,
// resolves the rule by id or name, and closes them after.
func (a *app) withRule(run func(cmd *cobra.Command, ctx context.Context, env *ruleEnv, r clickhouse.StoredRule) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		env, err := a.ruleEnv(ctx, false)
		if err != nil {
			return err
		}
		defer env.Close()
		r, err := env.rules.Find(ctx, args[0])
		if err != nil {
			return err
		}
		return run(cmd, ctx, env, r)
	}
}

func (a *app) rulesRedeliverCmd() *cobra.Command {
	var failed bool
	var limit int
	cmd := &cobra.Command{
		Use:   "redeliver RULE --failed",
		Short: "Send again the runs whose delivery failed (e.g. after a receiver outage)",
		Long: "Find the rule's runs whose last delivery to a webhook failed and deliver them to that webhook\n" +
			"again, one DeliverRuns workflow per webhook (ID rule-<id>/redeliver-<time>/w<webhook>), under the\n" +
			"same delivery rules. The payload's start_time and end_time are the time of the redelivery.",
		Args: cobra.ExactArgs(1),
		RunE: a.withRule(func(cmd *cobra.Command, ctx context.Context, env *ruleEnv, r clickhouse.StoredRule) error {
			if !failed {
				return errors.New("say which runs to send again: --failed")
			}
			started, err := env.rules.Redeliver(ctx, r, limit, time.Now().UTC())
			for _, d := range started {
				fmt.Fprintf(cmd.OutOrStdout(), "rule %q (%s): %d run(s) to webhook %d: workflow %s\n", r.Name, r.ID, len(d.RunIDs), d.Webhook, d.WorkflowID)
			}
			if err == nil && len(started) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "rule %q (%s): no failed deliveries\n", r.Name, r.ID)
			}
			return err
		}),
	}
	cmd.Flags().BoolVar(&failed, "failed", false, "send the runs whose last delivery failed")
	cmd.Flags().IntVar(&limit, "limit", 10000, "at most this many (run, webhook) pairs")
	return cmd
}

func (a *app) rulesPreviewCmd() *cobra.Command {
	var file, name string
	var opts ruleops.PreviewOptions
	cmd := &cobra.Command{
		Use:   "preview RULE | preview -f FILE --rule NAME",
		Short: "Show which stored runs a rule would pick now; claims, records and sends nothing",
		Long: "Read the runs stored in the last --since of server insertion time (up to rules.settle_lag before\n" +
			"ClickHouse's clock) as a tick would, with the tick's own match: count those that pass the filter,\n" +
			"then the trace filter, then the sampling, how many of them the rule has not handed on yet, and how\n" +
			"many carry every key of its feedback gate; list the first --limit, in the order ticks hand them on.\n" +
			"-f FILE --rule NAME previews a rule of a rules file before it is applied (its id, and so its\n" +
			"sampling, is the one apply gives it). The rule's start (creation or backfill_from) is not applied.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (file == "") == (len(args) == 0) || (file == "") != (name == "") {
				return errors.New("rules preview: name a stored RULE, or give -f FILE --rule NAME")
			}
			var spec rules.Spec
			if file != "" {
				desired, err := rules.Load(file, a.lookupEnv, iapp.URLPolicy(a.cfg.Delivery))
				if err != nil {
					return fmt.Errorf("rules file refused:\n%w", err)
				}
				i := slices.IndexFunc(desired, func(r rules.Rule) bool { return r.Name == name })
				if i < 0 {
					return fmt.Errorf("%s has no rule named %q", file, name)
				}
				spec = desired[i].Spec()
			}
			env, err := a.ruleEnv(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer env.Close()
			if file == "" {
				r, err := env.rules.Find(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if spec, err = ruleservice.Spec(r); err != nil {
					return err
				}
			}
			picks, used, err := env.rules.Preview(cmd.Context(), spec, opts)
			if err != nil {
				return err
			}
			printPicks(cmd.OutOrStdout(), spec, used, picks)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "rules file (YAML) holding a rule not yet applied")
	cmd.Flags().StringVar(&name, "rule", "", "with -f: the rule's name")
	cmd.Flags().DurationVar(&opts.Since, "since", time.Hour, "how far back to read")
	cmd.Flags().IntVar(&opts.Limit, "limit", 20, "list the first N runs")
	return cmd
}

// printPicks prints a preview: the window, a count per stage, the feedback
// gate and the first runs.
func printPicks(out io.Writer, spec rules.Spec, opts ruleops.PreviewOptions, p ruleops.Picks) {
	fmt.Fprintf(out, "rule %q (%s), project %s\n", spec.Name, spec.ID, spec.Project)
	fmt.Fprintf(out, "window (%s, %s] of server insertion time: --since %s, up to rules.settle_lag (%s) before the clock\n",
		p.Window.After.Format(time.RFC3339), p.Window.UpTo.Format(time.RFC3339), rules.FormatDuration(opts.Since), rules.FormatDuration(opts.SettleLag))
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	orNone := func(s, none string) string {
		if s == "" {
			return none
		}
		return s
	}
	fmt.Fprintf(tw, "filter\t%d\t%s\n", p.Filtered, orNone(spec.Filter, "(none: every completed run)"))
	fmt.Fprintf(tw, "trace filter\t%d\t%s\n", p.Traced, orNone(spec.TraceFilter, "(none)"))
	fmt.Fprintf(tw, "sampling\t%d\trate %g\n", p.Sampled, spec.SamplingRate)
	fmt.Fprintf(tw, "not yet handed on\t%d\twhat a tick over this window would hand on now\n", p.Unclaimed)
	if len(spec.Feedback.Require) > 0 {
		fmt.Fprintf(tw, "feedback ready\t%d\tcarry every key of [%s]\n", p.Ready, strings.Join(spec.Feedback.Require, ", "))
		fmt.Fprintf(tw, "feedback waiting\t%d\twould wait up to %s, then %s\n", p.Waiting, rules.FormatDuration(spec.Feedback.Wait), spec.Feedback.OnTimeout)
	}
	tw.Flush()
	if len(p.Runs) == 0 {
		fmt.Fprintln(out, "no runs picked")
	} else {
		fmt.Fprintf(out, "first %d of %d picked, in the order ticks hand them on:\n", len(p.Runs), p.Sampled)
		tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "RUN\tNAME\tSTARTED\tSTORED\tSTATE")
		for _, r := range p.Runs {
			state := "new"
			if r.Claimed {
				state = "handed on"
			}
			if r.Waiting {
				state += ", waits for feedback"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Name, r.StartTime.UTC().Format(time.RFC3339), r.InsertedAt.UTC().Format(time.RFC3339), state)
		}
		tw.Flush()
	}
	fmt.Fprintln(out, "preview only: nothing was claimed, recorded or sent")
}

func (a *app) rulesTestCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "test RULE",
		Short: "POST a test delivery to each of the rule's webhooks and print what each answered",
		Long: "Send each webhook of the rule one delivery in LangSmith's payload shape, with the rule's id and an\n" +
			"example run, exactly as a real delivery is sent (URL policy and SSRF guard, secret query, custom headers,\n" +
			"Standard Webhooks signature) plus the header webhook-test: true. Print each webhook's status and time,\n" +
			"URLs redacted. Each test is recorded as a delivery attempt and a \"test\" event in `rules logs`; the\n" +
			"rule's claims, failure streak and pause are unchanged. Exits non-zero when a webhook did not accept it.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			box, err := iapp.Secrets(a.cfg.Secrets)
			if err != nil {
				return err
			}
			if box == nil {
				return errors.New("secrets.key is not set: rules test needs it to open the webhooks (set RUNHOOK_SECRETS_KEY)")
			}
			env, err := a.ruleEnv(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer env.Close()
			r, err := env.rules.Find(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			spec, err := ruleservice.Spec(r)
			if err != nil {
				return err
			}
			run, results, err := env.rules.Test(cmd.Context(), spec, time.Now().UTC())
			out := cmd.OutOrStdout()
			if run != uuid.Nil {
				fmt.Fprintf(out, "rule %q (%s): test delivery of example run %s, with %s: true\n", r.Name, r.ID, run, ruleops.TestHeader)
			}
			printTests(out, results)
			if err != nil {
				return err
			}
			if len(results) == 0 {
				return fmt.Errorf("rule %q has no webhooks: nothing sent", r.Name)
			}
			failed := 0
			for _, res := range results {
				if !res.Sent() {
					failed++
				}
			}
			fmt.Fprintln(out, "recorded as \"test\" events in `starter rules logs`; the rule's claims, failure streak and pause are unchanged")
			if failed > 0 {
				return fmt.Errorf("%d of %d webhook(s) did not accept the test delivery", failed, len(results))
			}
			return nil
		},
	}
}

// printTests prints a row per webhook tested: URL redacted, status, time.
func printTests(out io.Writer, results []ruleops.TestResult) {
	if len(results) == 0 {
		return
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WEBHOOK\tURL\tSTATUS\tTIME\tRESULT")
	for _, r := range results {
		status, result := "-", string(r.Class)
		if r.StatusCode != 0 {
			status = fmt.Sprint(r.StatusCode)
		}
		if !r.Sent() {
			result += ": " + r.Err
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", r.Webhook, r.URL, status, r.Took(), result)
	}
	tw.Flush()
}
