// Command starter manages runhook: its config, ClickHouse schema, data and rules.
package main

import (
	"os"

	"github.com/runhook/runhook/internal/cli"
)

func main() { os.Exit(cli.Main()) }
