package cli

import (
	"fmt"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/runhook/runhook/internal/demo"
)

func (a *app) demoCmd() *cobra.Command {
	var (
		opts    demo.Options
		project string
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Write realistic demo traffic into ClickHouse until stopped",
		Long: "Make up LLM-application traffic and write it to ClickHouse as LangSmith does, so that rules have\n" +
			"something to match (see examples/rules.yaml). Every --every it starts --traces traces: mostly a\n" +
			"qa_agent chain with retriever, tool and LLM calls, some summarizer traces, about 5% failing. Each run\n" +
			"is written when it starts (pending) and again when it ends; an evaluator scores about 60% of the\n" +
			"traces with " + demo.FeedbackKey + " 2-20 s after they end. One line per batch; Ctrl-C stops it,\n" +
			"finishes the runs still open and prints the totals.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, err := uuid.Parse(project)
			if err != nil {
				return fmt.Errorf("--project %q is not a UUID", project)
			}
			opts.Project = id
			if opts.Every <= 0 {
				return fmt.Errorf("--every must be positive, got %s", opts.Every)
			}
			if opts.Traces <= 0 {
				return fmt.Errorf("--traces must be positive, got %d", opts.Traces)
			}
			if opts.Duration < 0 {
				return fmt.Errorf("--duration must not be negative, got %s", opts.Duration)
			}
			store, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			defer store.Close()
			opts.Out = cmd.OutOrStdout()
			_, err = demo.Run(cmd.Context(), store, opts)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&project, "project", demo.Project.String(), "project (session) id the runs belong to")
	f.DurationVar(&opts.Every, "every", demo.DefaultEvery, "time between batches")
	f.IntVar(&opts.Traces, "traces", demo.DefaultTraces, "traces started per batch")
	f.DurationVar(&opts.Duration, "duration", 0, "stop after this long; 0 runs until interrupted")
	f.Uint64Var(&opts.Seed, "seed", 0, "seed of the made-up traffic, to replay it; 0 picks one from the clock")
	return cmd
}
