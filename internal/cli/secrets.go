package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	iapp "github.com/runhook/runhook/internal/app"
	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/secrets/rotate"
)

func (a *app) secretsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secrets",
		Short: "Manage the keys that seal webhook URLs, headers and signing secrets",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(a.secretsRotateCmd())
	return cmd
}

func (a *app) secretsRotateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "rotate",
		Short: "Re-seal every stored secret under the current secrets.key",
		Long: "Re-seal the URLs, headers and signing secrets of rules' webhooks and the URLs of run-completion\n" +
			"webhooks under secrets.key, opening them with secrets.retired_keys. Values already under the current\n" +
			"key are left alone, so running it again re-seals nothing. Each re-sealed row is written as a new\n" +
			"version. When it reports no failures, the retired keys can be dropped from the configuration.\n" +
			"Prints counts only, never a value.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			box, err := iapp.Secrets(a.cfg.Secrets)
			if err != nil {
				return err
			}
			if box == nil {
				return errors.New("secrets.key is not set: set RUNHOOK_SECRETS_KEY to the new key and RUNHOOK_SECRETS_RETIRED_KEYS to the old ones")
			}
			return a.withStore(func(cmd *cobra.Command, store *clickhouse.Store) error {
				res, err := rotate.Rotator{Store: store, Box: box}.Run(cmd.Context())
				out := cmd.OutOrStdout()
				fmt.Fprintf(out, "current key %s\n", box.CurrentKeyID())
				for _, c := range []struct {
					table string
					n     rotate.Count
				}{{"webhooks", res.Webhooks}, {"run_webhooks", res.RunWebhooks}} {
					fmt.Fprintf(out, "%s: %d re-sealed, %d already current, %d do not open\n", c.table, c.n.Resealed, c.n.Current, c.n.Failed)
				}
				if err != nil {
					return err
				}
				for _, f := range res.Failures {
					fmt.Fprintln(out, "does not open:", f)
				}
				if failed := res.Webhooks.Failed + res.RunWebhooks.Failed; failed > 0 {
					return fmt.Errorf("%d stored row(s) do not open with secrets.key or secrets.retired_keys: keep retired keys until they do", failed)
				}
				fmt.Fprintln(out, "every stored value is sealed under the current key: secrets.retired_keys can be dropped")
				return nil
			})(cmd, nil)
		},
	}
}
