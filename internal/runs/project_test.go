package runs_test

import (
	"testing"

	"github.com/runhook/runhook/internal/runs"
)

// The ids are stored in every run the SDKs send; a change would split projects.
func TestProjectIDIsStable(t *testing.T) {
	if got, want := runs.ProjectID("default").String(), runs.ProjectID(runs.DefaultProject).String(); got != want {
		t.Fatalf("default project: %s vs %s", got, want)
	}
	a, b := runs.ProjectID("support-bot"), runs.ProjectID("support-bot")
	if a != b || a == runs.ProjectID("support-bot ") || a.Version() != 5 {
		t.Errorf("ProjectID not a stable v5 id per name: %s %s", a, b)
	}
}
