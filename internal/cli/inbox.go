package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

func (a *app) inboxCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "inbox",
		Short: "A local webhook receiver for trying rules (not yet available)",
		Args:  cobra.NoArgs,
		RunE:  func(*cobra.Command, []string) error { return errors.New("starter inbox is not available yet") },
	}
}
