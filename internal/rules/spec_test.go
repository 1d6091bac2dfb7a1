package rules

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func fullRules(t *testing.T) []Rule {
	t.Helper()
	rs, err := Parse([]byte(fullFile), env(fullEnv), testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestSpec(t *testing.T) {
	rs := fullRules(t)
	raw, err := json.Marshal(rs[0].Spec())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"6f1c2a43-2d0e-4b8e-9a55-0b6a8e0d7c11","name":"slow-llm-calls","project":"6a3be6a2-9a8c-4fc8-b4c6-a8983b286cc5",` +
		`"filter":"and(eq(run_type, \"llm\"), gt(latency, \"5s\"))","trace_filter":"eq(name, \"agent\")","sampling_rate":0.25,` +
		`"interval":"1m30s","enabled":false,"backfill_from":"2026-11-01T00:00:00Z",` +
		`"feedback":{"require":["answer_usefulness","correctness"],"wait":"30m","on_timeout":"deliver"},"max_runs_per_delivery":50,` +
		`"webhooks":["https://example.com/hook?secret=***","http://127.0.0.1:9999/hook"]}`
	if string(raw) != want {
		t.Errorf("spec JSON:\n%s\nwant:\n%s", raw, want)
	}

	raw, _ = json.Marshal(rs[1].Spec())
	want = `{"id":"` + DeriveID("defaults").String() + `","name":"defaults","project":"6a3be6a2-9a8c-4fc8-b4c6-a8983b286cc5",` +
		`"sampling_rate":1,"interval":"1m","enabled":true,"max_runs_per_delivery":0,"webhooks":["https://example.com/other"]}`
	if string(raw) != want {
		t.Errorf("spec JSON:\n%s\nwant:\n%s", raw, want)
	}
}

// No secret of the file reaches the spec: not the URL's query, the headers,
// nor the signing secret.
func TestSpecHasNoSecrets(t *testing.T) {
	r := fullRules(t)[0]
	r.Webhooks = append(r.Webhooks, Webhook{URL: "https://user:pa55word-x@example.com/p#frag-secret?x=1"})
	raw, _ := json.Marshal(r.Spec())
	for _, s := range []string{fullEnv["HOOK_SECRET"], fullEnv["API_KEY"], "X-Api-Key", testSigningSecret, "MfKQ9r8", "pa55word", "frag-secret"} {
		if strings.Contains(string(raw), s) {
			t.Errorf("spec JSON holds %q: %s", s, raw)
		}
		if y := r.Spec().YAML(); strings.Contains(y, s) {
			t.Errorf("spec YAML holds %q: %s", s, y)
		}
	}
}

func TestParseSpecRoundTrip(t *testing.T) {
	for _, r := range fullRules(t) {
		spec := r.Spec()
		raw, _ := json.Marshal(spec)
		got, err := ParseSpec(raw)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, spec) {
			t.Errorf("round trip:\n%+v\nwant:\n%+v", got, spec)
		}
		if got.IntervalDuration() != r.Interval {
			t.Errorf("IntervalDuration %s, want %s", got.IntervalDuration(), r.Interval)
		}
		if w, err := got.FeedbackWait(); err != nil || w != r.Feedback.Wait {
			t.Errorf("FeedbackWait = %s, %v; want %s", w, err, r.Feedback.Wait)
		}
	}
}

func TestParseSpecErrors(t *testing.T) {
	id := uuid.MustParse("6f1c2a43-2d0e-4b8e-9a55-0b6a8e0d7c11")
	cases := []struct{ name, in, want string }{
		{"not JSON", `{`, "rule spec: unexpected end of JSON input"},
		{"no id", `{"name":"a","interval":"1m"}`, "rule spec: id is missing"},
		{"no name", `{"id":"` + id.String() + `","interval":"1m"}`, "rule spec " + id.String() + ": name is missing"},
		{"bad interval", `{"id":"` + id.String() + `","name":"a","interval":"soon"}`, "rule spec " + id.String() + `: interval "soon" is not a duration of at least 1s`},
		{"no feedback wait", `{"id":"` + id.String() + `","name":"a","interval":"1m","feedback":{"require":["a"]}}`, "rule spec " + id.String() + ": feedback.wait 0s is not positive"},
		{"bad feedback wait", `{"id":"` + id.String() + `","name":"a","interval":"1m","feedback":{"require":["a"],"wait":"x"}}`, `rule spec: feedback.wait "x" is not a duration`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseSpec([]byte(c.in))
			if err == nil || err.Error() != c.want {
				t.Errorf("error %v, want %s", err, c.want)
			}
		})
	}
	// Fields from a newer runhook are ignored, so a rollback still reads them.
	if _, err := ParseSpec([]byte(`{"id":"` + id.String() + `","name":"a","interval":"1m","future":true}`)); err != nil {
		t.Errorf("unknown field: %v", err)
	}
}

func TestSpecYAML(t *testing.T) {
	got := fullRules(t)[0].Spec().YAML()
	want := `# webhook URLs redacted; headers and signing secrets not shown
name: slow-llm-calls
id: 6f1c2a43-2d0e-4b8e-9a55-0b6a8e0d7c11
project: 6a3be6a2-9a8c-4fc8-b4c6-a8983b286cc5
filter: and(eq(run_type, "llm"), gt(latency, "5s"))
trace_filter: eq(name, "agent")
sampling_rate: 0.25
interval: 1m30s
enabled: false
backfill_from: "2026-11-01T00:00:00Z"
feedback:
  require: [answer_usefulness, correctness]
  wait: 30m
  on_timeout: deliver
max_runs_per_delivery: 50
webhooks:
  - url: https://example.com/hook?secret=***
  - url: http://127.0.0.1:9999/hook
`
	if got != want {
		t.Errorf("YAML:\n%s\nwant:\n%s", got, want)
	}
	// What it prints reads back as a rule (under rules:), bar the redaction.
	indented := "rules:\n  - " + strings.ReplaceAll(strings.TrimSpace(strings.SplitN(got, "\n", 2)[1]), "\n", "\n    ") + "\n"
	back, err := Parse([]byte(indented), nil, testPolicy)
	if err != nil {
		t.Fatalf("printed YAML does not parse: %v\n%s", err, indented)
	}
	if !reflect.DeepEqual(back[0].Spec(), fullRules(t)[0].Spec()) {
		t.Errorf("printed YAML reads back as %+v", back[0].Spec())
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Minute: "1m", 90 * time.Second: "1m30s", time.Hour: "1h", 90 * time.Minute: "1h30m",
		time.Second: "1s", 1500 * time.Millisecond: "1.5s", 168 * time.Hour: "168h", 0: "0s",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%s) = %s, want %s", d, got, want)
		}
		if back, err := time.ParseDuration(FormatDuration(d)); err != nil || back != d {
			t.Errorf("%s does not parse back to %s", FormatDuration(d), d)
		}
	}
}
