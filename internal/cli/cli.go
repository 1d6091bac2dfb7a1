// Package cli is the starter command line: config, migrate, ingest, ping,
// apikey, rules, retention, secrets, status, inbox and demo. Each command
// parses its flags, calls the package that does the work, and prints.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	temporalsdk "go.temporal.io/sdk/temporal"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/config"
	"github.com/runhook/runhook/internal/ingest"
	"github.com/runhook/runhook/internal/logging"
	"github.com/runhook/runhook/internal/temporal"
	"github.com/runhook/runhook/internal/version"
	"github.com/runhook/runhook/workflows"
)

type app struct {
	configFile string
	cfg        config.Config
	stdin      io.Reader
	environ    []string
}

// New builds the starter command tree. environ replaces the process
// environment when non-nil (tests).
func New(stdin io.Reader, environ []string) *cobra.Command {
	a := &app{stdin: stdin, environ: environ}
	root := &cobra.Command{
		Use:           "starter",
		Short:         "Manage runhook: config, schema, data and rules",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version.Version,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(config.Options{File: a.configFile, Environ: a.environ})
			if err != nil {
				return err
			}
			a.cfg = cfg
			return nil
		},
	}
	root.PersistentFlags().StringVar(&a.configFile, "config", "", "config file (default: ./"+config.DefaultFile+" if present)")
	root.AddCommand(a.configCmd(), a.migrateCmd(), a.ingestCmd(), a.pingCmd(), a.rulesCmd(), a.statusCmd(), a.inboxCmd(), a.demoCmd(), a.apikeyCmd(), a.retentionCmd(), a.secretsCmd())
	return root
}

// Main runs the CLI and returns the process exit code.
func Main() int {
	ctx, stop := signalContext()
	defer stop()
	cmd := New(os.Stdin, nil)
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 1
	}
	return 0
}

func (a *app) logger(w io.Writer) *slog.Logger { return logging.New(w, a.cfg.Log) }

func (a *app) store(ctx context.Context) (*clickhouse.Store, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return clickhouse.Open(ctx, a.cfg.ClickHouse)
}

// withStore is a command's RunE that needs only the store.
func (a *app) withStore(fn func(cmd *cobra.Command, store *clickhouse.Store) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		store, err := a.store(cmd.Context())
		if err != nil {
			return err
		}
		defer store.Close()
		return fn(cmd, store)
	}
}

func (a *app) configCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "config",
		Short: "Print the effective configuration, secrets redacted",
		Long: "Print the configuration runhook would use: defaults, then the config file, then RUNHOOK_<SECTION>_<KEY>\n" +
			"environment variables. Secret values are shown as " + config.Redacted + ".",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, err := a.cfg.Redact().YAML()
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
}

func (a *app) migrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create or update the ClickHouse schema (idempotent)",
		Long:  "Create the database if needed and apply every schema migration not yet recorded in schema_migrations.",
		Args:  cobra.NoArgs,
		RunE: a.withStore(func(cmd *cobra.Command, store *clickhouse.Store) error {
			results, err := store.Migrate(cmd.Context())
			for _, r := range results {
				state := "already applied"
				if r.Applied {
					state = "applied"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%04d_%s: %s\n", r.Version, r.Name, state)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "database %s at %s is up to date\n", store.Database(), a.cfg.ClickHouse.Addr)
			return nil
		}),
	}
}

func (a *app) ingestCmd() *cobra.Command {
	var skipInvalid bool
	ingestCmd := &cobra.Command{
		Use:   "ingest",
		Short: "Load runs or feedback from JSON Lines files",
	}
	mk := func(kind string, load func(context.Context, *clickhouse.Store, io.Reader, string, ingest.Options) (ingest.Result, error)) *cobra.Command {
		cmd := &cobra.Command{
			Use:   kind + " FILE|-",
			Short: "Load " + kind + " from a JSON Lines file (- for stdin) in LangSmith's REST shape",
			Long: "Read one " + kind + " object per line in LangSmith's REST shape and batch-insert them.\n" +
				"Every line is checked first: a bad line is reported with its number and field, and by default\n" +
				"nothing from the file is inserted. --skip-invalid inserts the valid lines and lists the bad ones.",
			Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				src, name, err := a.open(args[0])
				if err != nil {
					return err
				}
				defer src.Close()
				store, err := a.store(cmd.Context())
				if err != nil {
					return err
				}
				defer store.Close()
				start := time.Now()
				res, err := load(cmd.Context(), store, src, name, ingest.Options{SkipInvalid: skipInvalid})
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				fmt.Fprintf(out, "%s: %d line(s), %d %s inserted, %d invalid skipped (%s)\n",
					name, res.Lines, res.Inserted, kind, len(res.Skipped), time.Since(start).Round(time.Millisecond))
				for _, l := range res.Skipped {
					fmt.Fprintf(cmd.ErrOrStderr(), "skipped %s\n", l.Error())
				}
				return nil
			},
		}
		cmd.Flags().BoolVar(&skipInvalid, "skip-invalid", false, "insert the valid lines and list the invalid ones")
		return cmd
	}
	ingestCmd.AddCommand(
		mk("runs", func(ctx context.Context, s *clickhouse.Store, r io.Reader, n string, o ingest.Options) (ingest.Result, error) {
			return ingest.Runs(ctx, s, r, n, o)
		}),
		mk("feedback", func(ctx context.Context, s *clickhouse.Store, r io.Reader, n string, o ingest.Options) (ingest.Result, error) {
			return ingest.Feedback(ctx, s, r, n, o)
		}),
	)
	return ingestCmd
}

func (a *app) open(arg string) (io.ReadCloser, string, error) {
	if arg == "-" {
		return io.NopCloser(a.stdin), "stdin", nil
	}
	f, err := os.Open(arg)
	if err != nil {
		return nil, "", err
	}
	return f, arg, nil
}

func (a *app) pingCmd() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "ping",
		Short: "Check the whole path: Temporal, a worker on the task queue, and its ClickHouse",
		Long: "Run the Ping workflow on the configured task queue and wait for it: it succeeds only when Temporal\n" +
			"answers, a worker polls the queue, and that worker reaches ClickHouse.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := temporal.Dial(cmd.Context(), a.cfg.Temporal, a.logger(io.Discard))
			if err != nil {
				return err
			}
			defer c.Close()
			// The server ends the workflow after timeout; the client waits a
			// little longer so that it reads that timeout rather than racing it.
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout+10*time.Second)
			defer cancel()
			run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
				ID:                       fmt.Sprintf("ping-%d", time.Now().UnixNano()),
				TaskQueue:                a.cfg.Temporal.TaskQueue,
				WorkflowExecutionTimeout: timeout,
			}, workflows.Ping, workflows.PingInput{Requester: "starter ping"})
			if err != nil {
				return fmt.Errorf("start ping workflow: %w", err)
			}
			var res workflows.PingResult
			if err := run.Get(ctx, &res); err != nil {
				var timedOut *temporalsdk.TimeoutError
				if errors.As(err, &timedOut) {
					return fmt.Errorf("no worker answered on task queue %q within %s (is `bin/worker` running?)", a.cfg.Temporal.TaskQueue, timeout)
				}
				return fmt.Errorf("ping workflow: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ok: worker %s reached ClickHouse %s, database %s holds %d runs\n",
				res.Storage.Worker, res.Storage.ServerVersion, res.Storage.Database, res.Storage.Runs)
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 20*time.Second, "how long to wait for a worker")
	return cmd
}
