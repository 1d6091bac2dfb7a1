package rules

import (
	"strings"
	"testing"
)

func TestCheckFilter(t *testing.T) {
	for _, ok := range []string{`eq(run_type, "llm")`, `and(eq(run_type, "llm"), gt(latency, "5s"))`, `eq(name, "agent")`} {
		if err := checkFilter(ok); err != nil {
			t.Errorf("checkFilter(%s): %v", ok, err)
		}
	}
	// Errors carry the position in the filter, which rule errors pass on.
	for _, bad := range []string{`eq(run_type, "llm"`, `eq(colour, "red")`, `nonsense`} {
		err := checkFilter(bad)
		if err == nil || !strings.Contains(err.Error(), "position ") {
			t.Errorf("checkFilter(%s) = %v, want an error with a position", bad, err)
		}
	}
}
