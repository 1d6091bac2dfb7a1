package rules

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// FuzzParse feeds any bytes to the rules file decoder: it returns rules or a
// *FileError, never panics, and no error repeats the value of a ${VAR} it
// substituted. Seeds are the example file, this package's test files and a
// few YAML corner cases (aliases, anchors, documents, tags).
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("../../examples/rules.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		string(example), fullFile, ruleFile(""), ruleFile("    interval: 5m\n    interval: 6m\n"),
		ruleFile("    feedback:\n      require: [a, b]\n      wait: 1h\n      on_timeout: deliver\n"),
		ruleFile("    filter: 'and(eq(run_type, \"llm\"), gt(latency, \"5s\"))'\n    sampling_rate: 0.5\n"),
		ruleFile("    webhooks:\n      - url: https://example.com/?k=${HOOK_SECRET}\n        headers: {X-Key: \"${API_KEY}\"}\n        signing_secret: ${SIGNING_SECRET}\n"),
		ruleFile("    backfill_from: 2026-11-01T02:00:00+02:00\n    max_runs_per_delivery: 50\n"),
		"", "rules: []\n", "- a\n", "rules: {a: 1}\n", "rules:\n  - name: [\n", "$${X} ${UNSET}\n",
		"a: &a [*a]\n", "rules: &r\n  - *r\n", "rules:\n  - !!binary aGVsbG8=\n", ruleFile("") + "---\nrules: []\n",
		"rules:\n  - <<: {name: r1}\n    project: p\n", "rules:\n  - name: \"\\ud800\"\n",
	} {
		f.Add([]byte(s))
	}
	lookup := env(fullEnv)
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := Parse(data, lookup, testPolicy)
		if err == nil {
			return
		}
		var fe *FileError
		if !errors.As(err, &fe) {
			t.Fatalf("error %T is not a *FileError: %v", err, err)
		}
		if rs != nil {
			t.Fatalf("rules returned alongside errors: %v", err)
		}
		msg := err.Error()
		for name, v := range fullEnv {
			if strings.Contains(string(data), "${"+name+"}") && !strings.Contains(string(data), v) && strings.Contains(msg, v) {
				t.Fatalf("the error shows the value of %s: %s", name, msg)
			}
		}
	})
}
