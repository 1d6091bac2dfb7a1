package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/runhook/runhook/internal/inbox"
	"github.com/runhook/runhook/internal/signing"
)

// demoSecretEnv is the variable examples/rules.yaml puts in its webhook URLs.
const demoSecretEnv = "RUNHOOK_DEMO_SECRET"

func (a *app) inboxCmd() *cobra.Command {
	var (
		addr, secret, signingSecret string
		fail, failFirst, keep       int
		delay                       time.Duration
	)
	cmd := &cobra.Command{
		Use:   "inbox",
		Short: "A local webhook receiver for trying rules: shows each delivery, can answer with failures",
		Long: "Receive webhooks on any path (e.g. /hook) by POST, the way a real receiver would: check the ?secret=\n" +
			"query parameter and the Standard Webhooks signature, then answer. One line is printed per delivery,\n" +
			"the page at / lists the last deliveries with their payloads, and /deliveries.json gives them as JSON.\n" +
			"--fail, --fail-first and --delay answer with chosen failures to watch the delivery rules live:\n" +
			"5xx is retried (up to 3 attempts, same webhook-id), 4xx is final, no answer within 5 s is final.\n" +
			"The default --addr matches the webhook URL in examples/rules.yaml.",
		Example: "  starter inbox\n" +
			"  starter inbox --fail-first 2          # each delivery succeeds on its third attempt\n" +
			"  starter inbox --fail 400              # final: not retried\n" +
			"  starter inbox --delay 6s              # past the 5 s timeout\n" +
			"  starter inbox --signing-secret whsec_...",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Read here, not as the flag's default, so --help never shows it.
			if !cmd.Flags().Changed("secret") {
				secret, _ = a.lookupEnv(demoSecretEnv)
			}
			opt := inbox.Options{Secret: secret, Fail: fail, FailFirst: failFirst, Delay: delay, Keep: keep, Out: cmd.OutOrStdout()}
			if signingSecret != "" {
				key, err := signing.ParseSecret(signingSecret)
				if err != nil {
					return fmt.Errorf("--signing-secret: %w", err)
				}
				opt.SigningKey = key
			}
			switch {
			case fail != 0 && (fail < 200 || fail > 599):
				return fmt.Errorf("--fail %d: want an HTTP status from 200 to 599, or 0 for 204", fail)
			case failFirst < 0:
				return errors.New("--fail-first must not be negative")
			case delay < 0:
				return errors.New("--delay must not be negative")
			case keep < 1:
				return errors.New("--keep must be at least 1")
			}

			h := inbox.New(opt)
			srv, err := inbox.Listen(addr, h)
			if err != nil {
				return err
			}
			hook := srv.URL() + "/hook"
			if secret != "" {
				hook += "?secret=***"
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "runhook inbox listening on %s\n", srv.Addr())
			fmt.Fprintf(out, "  page:     %s/\n", srv.URL())
			fmt.Fprintf(out, "  webhook:  %s\n", hook)
			fmt.Fprintf(out, "  mode:     %s\n", h.Mode())
			fmt.Fprintln(out, "Ctrl-C stops it.")
			if err := srv.Serve(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintf(out, "inbox stopped after %d deliveries\n", h.Received())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:9999", "address to listen on (port 0 picks a free one)")
	f.StringVar(&secret, "secret", "", "expected ?secret= query parameter; wrong or missing is 401 (default $"+demoSecretEnv+"; \"\" accepts any)")
	f.StringVar(&signingSecret, "signing-secret", "", "whsec_… secret: verify the Standard Webhooks signature (5 min tolerance); bad or absent is 401")
	f.IntVar(&fail, "fail", 0, "status to answer accepted deliveries with (0 answers 204)")
	f.IntVar(&failFirst, "fail-first", 0, "fail only the first N attempts of each webhook-id (with --fail, or 500), so the retries succeed")
	f.DurationVar(&delay, "delay", 0, "wait this long before answering (runhook gives up after 5s)")
	f.IntVar(&keep, "keep", inbox.DefaultKeep, "how many recent deliveries to keep in memory")
	return cmd
}
