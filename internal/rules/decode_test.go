package rules

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/netguard"
	"github.com/runhook/runhook/internal/payload"
	"github.com/runhook/runhook/internal/runs"
)

const project = "6a3be6a2-9a8c-4fc8-b4c6-a8983b286cc5"

// ruleFile is a one-rule file: name r1 on line 2, project on line 3, then
// fields from line 4, then a valid webhook unless fields set webhooks.
func ruleFile(fields string) string {
	s := "rules:\n  - name: r1\n    project: " + project + "\n" + fields
	if !strings.Contains(fields, "webhooks:") {
		s += "    webhooks:\n      - url: https://example.com/hook\n"
	}
	return s
}

var testPolicy = delivery.URLPolicy{MaxURLLength: 2048}

func parseErr(t *testing.T, src string, policy delivery.URLPolicy) string {
	t.Helper()
	rs, err := Parse([]byte(src), nil, policy)
	if err == nil {
		t.Fatalf("no error; rules %+v", rs)
	}
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Fatalf("error %T is not a *FileError: %v", err, err)
	}
	if rs != nil {
		t.Errorf("rules returned alongside errors: %+v", rs)
	}
	return err.Error()
}

func TestFieldErrors(t *testing.T) {
	long := strings.Repeat("x", 201)
	cases := []struct {
		name   string
		src    string
		want   string
		policy *delivery.URLPolicy
	}{
		// The file as a whole.
		{"empty file", "", "the file is empty; it must be a mapping with a rules: list", nil},
		{"comments only", "# nothing\n", "the file is empty; it must be a mapping with a rules: list", nil},
		{"not a mapping", "- a\n", "the file must be a mapping of keys (rules), not a list (line 1)", nil},
		{"no rules key", "other: 1\n", "unknown key \"other\"; the keys here are rules (line 1)\nno rules: key; the file must be a mapping with a rules: list (line 1)", nil},
		{"rules not a list", "rules: {a: 1}\n", "rules: must be a list of rules, not a mapping (line 1)", nil},
		{"two documents", ruleFile("") + "---\nrules: []\n", "the file holds more than one YAML document; put every rule in one rules: list (line 6)", nil},
		{"syntax", "rules:\n  - name: [\n", "YAML: did not find expected node content (line 2)", nil},
		{"rule not a mapping", "rules:\n  - just-a-name\n", "rules[0]: a rule must be a mapping of keys (name, id, project, filter, trace_filter, sampling_rate, interval, enabled, backfill_from, feedback, max_runs_per_delivery, webhooks), not a single value (line 2)", nil},
		{"unknown rule key", ruleFile("    intervall: 5m\n"), `rule "r1": unknown key "intervall"; the keys here are name, id, project, filter, trace_filter, sampling_rate, interval, enabled, backfill_from, feedback, max_runs_per_delivery, webhooks (line 4)`, nil},
		{"key twice", ruleFile("    interval: 5m\n    interval: 6m\n"), `rule "r1": interval: set twice (first on line 4) (line 5)`, nil},

		// name
		{"name missing", "rules:\n  - project: " + project + "\n    webhooks: [{url: 'https://example.com/'}]\n", "rules[0]: name: is required (line 2)", nil},
		{"name empty", "rules:\n  - name: ''\n    project: " + project + "\n    webhooks: [{url: 'https://example.com/'}]\n", "rules[0]: name: is required, and empty here (line 2)", nil},
		{"name blank", "rules:\n  - name: '  '\n    project: " + project + "\n    webhooks: [{url: 'https://example.com/'}]\n", "rules[0]: name: must not be blank (line 2)", nil},
		{"name too long", "rules:\n  - name: " + long + "\n    project: " + project + "\n    webhooks: [{url: 'https://example.com/'}]\n", "rules[0]: name: is 201 characters long, at most 200 (line 2)", nil},
		{"name control", "rules:\n  - name: \"a\\tb\"\n    project: " + project + "\n    webhooks: [{url: 'https://example.com/'}]\n", "rules[0]: name: must not contain control characters (line 2)", nil},
		{"name a list", "rules:\n  - name: [a]\n    project: " + project + "\n    webhooks: [{url: 'https://example.com/'}]\n", "rules[0]: name: must be a single value, not a list (line 2)", nil},

		// id and project
		{"id not a UUID", ruleFile("    id: 6f1c\n"), `rule "r1": id: "6f1c" is not a UUID (line 4)`, nil},
		{"id nil", ruleFile("    id: 00000000-0000-0000-0000-000000000000\n"), `rule "r1": id: must not be the nil UUID (line 4)`, nil},
		{"project missing", "rules:\n  - name: r1\n    webhooks: [{url: 'https://example.com/'}]\n", `rule "r1": project: is required (line 2)`, nil},
		{"project name with spaces around it", "rules:\n  - name: r1\n    project: 'my-project '\n    webhooks: [{url: 'https://example.com/'}]\n", `rule "r1": project: "my-project " has leading or trailing spaces (line 3)`, nil},
		{"project nil", "rules:\n  - name: r1\n    project: 00000000-0000-0000-0000-000000000000\n    webhooks: [{url: 'https://example.com/'}]\n", `rule "r1": project: must not be the nil UUID (line 3)`, nil},

		// filters: the filter package's message, with its position.
		{"filter syntax", ruleFile("    filter: 'and(eq(run_type, \"llm\")'\n"), `rule "r1": filter: position`, nil},
		{"filter field", ruleFile("    filter: 'eq(colour, \"red\")'\n"), `rule "r1": filter: position 4:`, nil},
		{"trace_filter syntax", ruleFile("    trace_filter: 'eq(name'\n"), `rule "r1": trace_filter: position`, nil},
		{"filter a mapping", ruleFile("    filter: {eq: 1}\n"), `rule "r1": filter: must be a single value, not a mapping (line 4)`, nil},

		// sampling_rate, interval, enabled, backfill_from
		{"sampling above 1", ruleFile("    sampling_rate: 1.5\n"), `rule "r1": sampling_rate: must be a number from 0 to 1, got "1.5" (line 4)`, nil},
		{"sampling negative", ruleFile("    sampling_rate: -0.1\n"), `rule "r1": sampling_rate: must be a number from 0 to 1, got "-0.1" (line 4)`, nil},
		{"sampling text", ruleFile("    sampling_rate: half\n"), `rule "r1": sampling_rate: must be a number from 0 to 1, got "half" (line 4)`, nil},
		{"sampling nan", ruleFile("    sampling_rate: .nan\n"), `rule "r1": sampling_rate: must be a number from 0 to 1, got ".nan" (line 4)`, nil},
		{"interval text", ruleFile("    interval: hourly\n"), `rule "r1": interval: "hourly" is not a duration such as 30s, 5m or 1h (line 4)`, nil},
		{"interval no unit", ruleFile("    interval: 60\n"), `rule "r1": interval: "60" is not a duration such as 30s, 5m or 1h (line 4)`, nil},
		{"interval too short", ruleFile("    interval: 500ms\n"), `rule "r1": interval: 500ms is shorter than the minimum 1s (line 4)`, nil},
		{"enabled text", ruleFile("    enabled: sometimes\n"), `rule "r1": enabled: must be true or false, got "sometimes" (line 4)`, nil},
		{"enabled number", ruleFile("    enabled: 1\n"), `rule "r1": enabled: must be true or false, got "1" (line 4)`, nil},
		{"backfill not a time", ruleFile("    backfill_from: yesterday\n"), `rule "r1": backfill_from: "yesterday" is not an RFC 3339 time such as 2026-11-01T00:00:00Z (line 4)`, nil},
		{"backfill date only", ruleFile("    backfill_from: 2026-11-01\n"), `rule "r1": backfill_from: "2026-11-01" is not an RFC 3339 time such as 2026-11-01T00:00:00Z (line 4)`, nil},

		// feedback
		{"feedback not a mapping", ruleFile("    feedback: [a]\n"), `rule "r1": feedback: it must be a mapping of keys (require, wait, on_timeout), not a list (line 4)`, nil},
		{"feedback unknown key", ruleFile("    feedback:\n      require: [a]\n      timeout: 1h\n"), `rule "r1": feedback: unknown key "timeout"; the keys here are require, wait, on_timeout (line 6)`, nil},
		{"require not a list", ruleFile("    feedback:\n      require: a\n"), `rule "r1": feedback.require: must be a list of feedback keys, not a single value (line 5)`, nil},
		{"require empty key", ruleFile("    feedback:\n      require: [a, '']\n"), `rule "r1": feedback.require[1]: must be a feedback key, not empty (line 5)`, nil},
		{"require twice", ruleFile("    feedback:\n      require:\n        - a\n        - a\n"), `rule "r1": feedback.require[1]: "a" is listed twice (also on line 6) (line 7)`, nil},
		{"wait zero", ruleFile("    feedback:\n      require: [a]\n      wait: 0s\n"), `rule "r1": feedback.wait: 0s is out of range: more than 0, at most 168h0m0s (7 days) (line 6)`, nil},
		{"wait too long", ruleFile("    feedback:\n      require: [a]\n      wait: 169h\n"), `rule "r1": feedback.wait: 169h0m0s is out of range: more than 0, at most 168h0m0s (7 days) (line 6)`, nil},
		{"wait text", ruleFile("    feedback:\n      require: [a]\n      wait: soon\n"), `rule "r1": feedback.wait: "soon" is not a duration such as 30s, 5m or 1h (line 6)`, nil},
		{"wait without require", ruleFile("    feedback:\n      wait: 1h\n"), `rule "r1": feedback.wait: applies only with feedback.require (line 5)`, nil},
		{"on_timeout bad", ruleFile("    feedback:\n      require: [a]\n      on_timeout: retry\n"), `rule "r1": feedback.on_timeout: must be skip or deliver, got "retry" (line 6)`, nil},
		{"on_timeout without require", ruleFile("    feedback:\n      on_timeout: deliver\n"), `rule "r1": feedback.on_timeout: applies only with feedback.require (line 5)`, nil},

		// max_runs_per_delivery
		{"max runs negative", ruleFile("    max_runs_per_delivery: -1\n"), `rule "r1": max_runs_per_delivery: must be a whole number from 0 (the service default) to 10000, got "-1" (line 4)`, nil},
		{"max runs too many", ruleFile("    max_runs_per_delivery: 10001\n"), `rule "r1": max_runs_per_delivery: must be a whole number from 0 (the service default) to 10000, got "10001" (line 4)`, nil},
		{"max runs fraction", ruleFile("    max_runs_per_delivery: 2.5\n"), `rule "r1": max_runs_per_delivery: must be a whole number from 0 (the service default) to 10000, got "2.5" (line 4)`, nil},

		// webhooks
		{"webhooks missing", "rules:\n  - name: r1\n    project: " + project + "\n", `rule "r1": webhooks: is required: at least one webhook (line 2)`, nil},
		{"webhooks empty", ruleFile("    webhooks: []\n"), `rule "r1": webhooks: is empty: at least one webhook is required (line 4)`, nil},
		{"webhooks not a list", ruleFile("    webhooks: https://example.com/\n"), `rule "r1": webhooks: must be a list of webhooks, not a single value (line 4)`, nil},
		{"webhooks too many", ruleFile("    webhooks: [" + strings.Repeat("{url: 'https://example.com/'},", 11) + "]\n"), `rule "r1": webhooks: lists 11 webhooks, at most 10 (line 4)`, nil},
		{"webhook not a mapping", ruleFile("    webhooks:\n      - https://example.com/\n"), `rule "r1": webhooks[0]: it must be a mapping of keys (url, headers, signing_secret, format, retry), not a single value (line 5)`, nil},
		{"webhook unknown key", ruleFile("    webhooks:\n      - url: https://example.com/\n        secret: x\n"), `rule "r1": webhooks[0]: unknown key "secret"; the keys here are url, headers, signing_secret, format, retry (line 6)`, nil},
		{"url missing", ruleFile("    webhooks:\n      - headers: {X-A: b}\n"), `rule "r1": webhooks[0].url: is required (line 5)`, nil},
		{"url scheme", ruleFile("    webhooks:\n      - url: https://example.com/\n      - url: ftp://example.com/in?secret=s3cr3t-value\n"), `rule "r1": webhooks[1].url: webhook URL ftp://example.com/in?secret=***: scheme must be http or https (line 6)`, nil},
		{"url https required", ruleFile("    webhooks:\n      - url: http://example.com/in?token=s3cr3t-value\n"), `rule "r1": webhooks[0].url: webhook URL http://example.com/in?token=***: http is not allowed (delivery.require_https) (line 5)`, &delivery.URLPolicy{RequireHTTPS: true}},
		{"url user info", ruleFile("    webhooks:\n      - url: https://bob:hunter2-password@example.com/in\n"), `rule "r1": webhooks[0].url: webhook URL https://example.com/in: user info in the URL is not supported; use a header (line 5)`, nil},
		{"url metadata under allow_private", ruleFile("    webhooks:\n      - url: https://example.com/\n      - url: http://169.254.169.254/latest/meta-data?token=s3cr3t-value\n"), `rule "r1": webhooks[1].url: webhook URL http://169.254.169.254/latest/meta-data?token=***: destination 169.254.169.254 refused: link-local (cloud metadata) address (only delivery.allow_cidrs can allow it, with an entry inside the range; delivery.allow_private never does) (line 6)`, &delivery.URLPolicy{Addresses: netguard.Policy{AllowPrivate: true}}},
		{"url aws v6 metadata under allow_private", ruleFile("    webhooks:\n      - url: 'http://[fd00:ec2::254]/latest?token=s3cr3t-value'\n"), `rule "r1": webhooks[0].url: webhook URL http://[fd00:ec2::254]/latest?token=***: destination fd00:ec2::254 refused: cloud metadata (AWS IPv6) address (only delivery.allow_cidrs can allow it, with an entry inside the range; delivery.allow_private never does) (line 5)`, &delivery.URLPolicy{Addresses: netguard.Policy{AllowPrivate: true}}},
		{"url private literal", ruleFile("    webhooks:\n      - url: https://10.0.0.8/in?token=s3cr3t-value\n"), `rule "r1": webhooks[0].url: webhook URL https://10.0.0.8/in?token=***: destination 10.0.0.8 refused: private address (set delivery.allow_private or delivery.allow_cidrs to allow it) (line 5)`, &delivery.URLPolicy{Addresses: netguard.Policy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}}},
		{"url domain", ruleFile("    webhooks:\n      - url: https://evil.test/in\n"), `rule "r1": webhooks[0].url: webhook URL https://evil.test/in: host evil.test is not in delivery.allowed_domains (line 5)`, &delivery.URLPolicy{AllowedDomains: []string{"example.com"}}},
		{"headers not a mapping", ruleFile("    webhooks:\n      - url: https://example.com/\n        headers: [a]\n"), `rule "r1": webhooks[0].headers: must be a mapping of header names to values, not a list (line 6)`, nil},
		{"header reserved", ruleFile("    webhooks:\n      - url: https://example.com/\n        headers: {Content-Type: text/plain, webhook-id: x}\n"), "rule \"r1\": webhooks[0].headers: header \"Content-Type\" is set by runhook and cannot be configured (line 6)\nrule \"r1\": webhooks[0].headers: header \"webhook-id\" is set by runhook and cannot be configured (line 6)", nil},
		{"header bad name", ruleFile("    webhooks:\n      - url: https://example.com/\n        headers: {'X Key': v}\n"), `rule "r1": webhooks[0].headers: header name "X Key" is not a valid HTTP header name (line 6)`, nil},
		{"header twice", ruleFile("    webhooks:\n      - url: https://example.com/\n        headers:\n          X-Key: a-secret-1\n          x-key: a-secret-2\n"), `rule "r1": webhooks[0].headers: header "x-key" is set twice (also on line 7; names are case-insensitive) (line 8)`, nil},
		{"header value a list", ruleFile("    webhooks:\n      - url: https://example.com/\n        headers: {X-Key: [a]}\n"), `rule "r1": webhooks[0].headers: header "X-Key": the value must be a string, not a list (line 6)`, nil},
		{"signing secret prefix", ruleFile("    webhooks:\n      - url: https://example.com/\n        signing_secret: sk_live_abcdef\n"), `rule "r1": webhooks[0].signing_secret: signing secret must start with whsec_ (line 6)`, nil},
		{"signing secret base64", ruleFile("    webhooks:\n      - url: https://example.com/\n        signing_secret: whsec_not*base64\n"), `rule "r1": webhooks[0].signing_secret: signing secret is not whsec_ followed by base64 (line 6)`, nil},
		{"signing secret short", ruleFile("    webhooks:\n      - url: https://example.com/\n        signing_secret: whsec_c2hvcnQ=\n"), `rule "r1": webhooks[0].signing_secret: signing secret decodes to 5 bytes, want 24 to 64 (line 6)`, nil},

		{"format unknown", ruleFile("    webhooks:\n      - url: https://example.com/hook\n        format: LangGraph\n"), `rule "r1": webhooks[0].format: must be langsmith or langgraph, got "LangGraph" (line 6)`, nil},
		{"format a list", ruleFile("    webhooks:\n      - url: https://example.com/hook\n        format: [langgraph]\n"), `rule "r1": webhooks[0].format: must be a single value, not a list (line 6)`, nil},
		{"retry unknown", ruleFile("    webhooks:\n      - url: https://example.com/hook\n        retry: forever\n"), `rule "r1": webhooks[0].retry: must be langsmith or standard, got "forever" (line 6)`, nil},
		{"langgraph batches", ruleFile("    max_runs_per_delivery: 5\n    webhooks:\n      - url: https://example.com/a\n      - url: https://example.com/b\n        format: langgraph\n"),
			`rule "r1": max_runs_per_delivery: is 5, but webhooks[1] has format langgraph, which posts one run per request: set 1 or leave it out (line 4)`, nil},
		// across rules
		{"duplicate name", ruleFile("") + "  - name: r1\n    project: " + project + "\n    webhooks: [{url: 'https://example.com/'}]\n", `rule "r1": name: used by more than one rule (also on line 2); names must be unique in the file (line 6)`, nil},
		{"duplicate id", ruleFile("    id: 6f1c2a43-2d0e-4b8e-9a55-0b6a8e0d7c11\n") + "  - name: r2\n    id: 6f1c2a43-2d0e-4b8e-9a55-0b6a8e0d7c11\n    project: " + project + "\n    webhooks: [{url: 'https://example.com/'}]\n", `rule "r2": id: "6f1c2a43-2d0e-4b8e-9a55-0b6a8e0d7c11" is also the id of rule "r1" (line 4); ids must be unique (line 8)`, nil},
		{"explicit id is another's derived id", ruleFile("") + "  - name: r2\n    id: " + DeriveID("r1").String() + "\n    project: " + project + "\n    webhooks: [{url: 'https://example.com/'}]\n", `rule "r2": id: "` + DeriveID("r1").String() + `" is also the id of rule "r1" (line 2); ids must be unique (line 7)`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			policy := testPolicy
			if c.policy != nil {
				policy = *c.policy
			}
			got := parseErr(t, c.src, policy)
			if strings.HasSuffix(c.want, ":") || strings.HasSuffix(c.want, "position") {
				if !strings.HasPrefix(got, c.want) {
					t.Errorf("error:\n%s\nwant prefix:\n%s", got, c.want)
				}
			} else if got != c.want {
				t.Errorf("error:\n%s\nwant:\n%s", got, c.want)
			}
			for _, secret := range []string{"s3cr3t-value", "hunter2", "a-secret", "sk_live", "not*base64", "c2hvcnQ"} {
				if strings.Contains(got, secret) {
					t.Errorf("error shows %q: %s", secret, got)
				}
			}
		})
	}
}

// Runs the SDKs send name their project; the API stores runs.ProjectID of the
// name, so a rule may name it the same way.
func TestProjectByName(t *testing.T) {
	rs, err := Parse([]byte("rules:\n  - name: r1\n    project: support-bot\n    webhooks: [{url: 'https://example.com/'}]\n"), nil, testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Project != runs.ProjectID("support-bot") {
		t.Errorf("project %s, want runs.ProjectID(\"support-bot\") %s", rs[0].Project, runs.ProjectID("support-bot"))
	}
}

func TestWebhookFormat(t *testing.T) {
	src := ruleFile("    max_runs_per_delivery: 1\n    webhooks:\n      - url: https://example.com/a\n      - url: https://example.com/b\n        format: langgraph\n      - url: https://example.com/c\n        format: langsmith\n")
	rs, err := Parse([]byte(src), nil, testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	got := []payload.Format{rs[0].Webhooks[0].Format, rs[0].Webhooks[1].Format, rs[0].Webhooks[2].Format}
	if want := []payload.Format{payload.FormatLangSmith, payload.FormatLangGraph, payload.FormatLangSmith}; !slices.Equal(got, want) {
		t.Errorf("formats %q, want %q", got, want)
	}
	spec := rs[0].Spec()
	if want := []string{"", "langgraph", ""}; !slices.Equal(spec.WebhookFormats, want) {
		t.Errorf("spec webhook_formats %q, want %q", spec.WebhookFormats, want)
	}
	if y := spec.YAML(); strings.Count(y, "format: langgraph") != 1 || strings.Count(y, "format:") != 1 {
		t.Errorf("rules get shows:\n%s\nwant the one langgraph format", y)
	}
	if plain := (Rule{Webhooks: []Webhook{{URL: "https://example.com/a"}}}).Spec(); plain.WebhookFormats != nil {
		t.Errorf("a rule without formats stores webhook_formats %q", plain.WebhookFormats)
	}
}

func TestWebhookRetry(t *testing.T) {
	src := ruleFile("    webhooks:\n      - url: https://example.com/a\n      - url: https://example.com/b\n        retry: standard\n      - url: https://example.com/c\n        retry: langsmith\n")
	rs, err := Parse([]byte(src), nil, testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{rs[0].Webhooks[0].Retry, rs[0].Webhooks[1].Retry, rs[0].Webhooks[2].Retry}
	if want := []string{"", "standard", ""}; !slices.Equal(got, want) {
		t.Errorf("retries %q, want %q", got, want)
	}
	spec := rs[0].Spec()
	if want := []string{"", "standard", ""}; !slices.Equal(spec.WebhookRetries, want) {
		t.Errorf("spec webhook_retries %q, want %q", spec.WebhookRetries, want)
	}
	if y := spec.YAML(); strings.Count(y, "retry: standard") != 1 || strings.Count(y, "retry:") != 1 {
		t.Errorf("rules get shows:\n%s\nwant the one standard retry", y)
	}
	if plain := (Rule{Webhooks: []Webhook{{URL: "https://example.com/a"}}}).Spec(); plain.WebhookRetries != nil {
		t.Errorf("a rule without retries stores webhook_retries %q", plain.WebhookRetries)
	}
}
