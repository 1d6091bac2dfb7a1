// Command report reads the JSON results the benches wrote with -json (every
// *.json file of a directory) and prints them as one markdown table, headed by
// the machine, the dates and the commit they ran at.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/runhook/runhook/bench/internal/report"
)

func main() {
	outPath := flag.String("o", "", "also write the table to this file")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: go run ./bench/report [-o FILE] DIR")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	docs, err := report.ReadDir(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	table := report.Markdown(docs)
	fmt.Print(table)
	if *outPath != "" {
		if err := os.WriteFile(*outPath, []byte(table), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "report:", err)
			os.Exit(1)
		}
	}
}
