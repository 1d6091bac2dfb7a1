package rules

import "github.com/runhook/runhook/internal/filter"

// checkFilter is the filter package's verdict on a rule's filter: syntax,
// fields and value types. Its errors carry the position in the filter.
func checkFilter(src string) error {
	_, err := filter.Parse(src)
	return err
}
