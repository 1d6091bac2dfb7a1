package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

func (a *app) demoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Write realistic demo traffic into ClickHouse until stopped (not yet available)",
		Args:  cobra.NoArgs,
		RunE:  func(*cobra.Command, []string) error { return errors.New("starter demo is not available yet") },
	}
}
