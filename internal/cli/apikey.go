package cli

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/runhook/runhook/internal/api"
	"github.com/runhook/runhook/internal/config"
)

// apiKeyPrefix marks runhook keys, so that a leaked one is recognisable.
const apiKeyPrefix = "rhk_"

func (a *app) apikeyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apikey",
		Short: "Make API keys for bin/server (the LangSmith-compatible API)",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "new",
		Short: "Print a new random API key once, and the api.key_hashes entry that accepts it",
		Long: "Make a random API key (32 bytes from the system's secure random source) and print it once, with the\n" +
			"\"sha256:\" line to add to api.key_hashes (" + config.EnvForKey("api.key_hashes") + "). The server keeps only\n" +
			"the hash, so the key cannot be shown again: give it to the SDKs as LANGSMITH_API_KEY.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, err := newAPIKey()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "api key (shown once; set LANGSMITH_API_KEY to it):\n  %s\n"+
				"add to api.key_hashes in the config file, or to %s (comma-separated):\n  %s\n",
				key, config.EnvForKey("api.key_hashes"), api.HashKey(key))
			return nil
		},
	})
	return cmd
}

func newAPIKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	return apiKeyPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}
