package rules

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/delivery"
)

// A 32-byte key in the Standard Webhooks form.
const testSigningSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

const fullFile = `# every key set
rules:
  - name: slow-llm-calls
    id: 6f1c2a43-2d0e-4b8e-9a55-0b6a8e0d7c11
    project: 6a3be6a2-9a8c-4fc8-b4c6-a8983b286cc5
    filter: 'and(eq(run_type, "llm"), gt(latency, "5s"))'
    trace_filter: 'eq(name, "agent")'
    sampling_rate: 0.25
    interval: 90s
    enabled: false
    backfill_from: 2026-11-01T02:00:00+02:00
    feedback:
      require: [answer_usefulness, correctness]
      wait: 30m
      on_timeout: deliver
    max_runs_per_delivery: 50
    webhooks:
      - url: https://example.com/hook?secret=${HOOK_SECRET}
        headers: {X-Api-Key: "${API_KEY}", X-Team: ml}
        signing_secret: ${SIGNING_SECRET}
      - url: http://127.0.0.1:9999/hook
  - name: defaults
    project: 6a3be6a2-9a8c-4fc8-b4c6-a8983b286cc5
    webhooks:
      - url: https://example.com/other
`

var fullEnv = map[string]string{
	"HOOK_SECRET":    "hook-secret-0f9e8d",
	"API_KEY":        "api-key-7c6b5a",
	"SIGNING_SECRET": testSigningSecret,
}

func TestParseFull(t *testing.T) {
	rs, err := Parse([]byte(fullFile), env(fullEnv), testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	backfill := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	want := []Rule{{
		ID:                 uuid.MustParse("6f1c2a43-2d0e-4b8e-9a55-0b6a8e0d7c11"),
		Name:               "slow-llm-calls",
		Project:            uuid.MustParse(project),
		Filter:             `and(eq(run_type, "llm"), gt(latency, "5s"))`,
		TraceFilter:        `eq(name, "agent")`,
		SamplingRate:       0.25,
		Interval:           90 * time.Second,
		Enabled:            false,
		BackfillFrom:       &backfill,
		Feedback:           Feedback{Require: []string{"answer_usefulness", "correctness"}, Wait: 30 * time.Minute, OnTimeout: "deliver"},
		MaxRunsPerDelivery: 50,
		Webhooks: []Webhook{
			{URL: "https://example.com/hook?secret=hook-secret-0f9e8d", Headers: map[string]string{"X-Api-Key": "api-key-7c6b5a", "X-Team": "ml"}, SigningSecrets: []string{testSigningSecret}},
			{URL: "http://127.0.0.1:9999/hook"},
		},
	}, {
		ID:           DeriveID("defaults"),
		Name:         "defaults",
		Project:      uuid.MustParse(project),
		SamplingRate: 1,
		Interval:     time.Minute,
		Enabled:      true,
		Webhooks:     []Webhook{{URL: "https://example.com/other"}},
	}}
	if !reflect.DeepEqual(rs, want) {
		a, _ := json.MarshalIndent(rs, "", "  ")
		b, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("rules:\n%s\nwant:\n%s", a, b)
	}
}

func TestParseFeedbackDefaults(t *testing.T) {
	rs, err := Parse([]byte(ruleFile("    feedback:\n      require: [answer_usefulness]\n")), nil, testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	want := Feedback{Require: []string{"answer_usefulness"}, Wait: time.Hour, OnTimeout: OnTimeoutSkip}
	if !reflect.DeepEqual(rs[0].Feedback, want) {
		t.Errorf("feedback %+v, want %+v", rs[0].Feedback, want)
	}
	// An empty require gates nothing: the zero Feedback.
	rs, err = Parse([]byte(ruleFile("    feedback:\n      require: []\n")), nil, testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rs[0].Feedback, Feedback{}) {
		t.Errorf("feedback %+v, want zero", rs[0].Feedback)
	}
}

func TestParseEdgeCases(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want func(t *testing.T, rs []Rule)
	}{
		{"empty rules list", "rules: []\n", func(t *testing.T, rs []Rule) {
			if rs == nil || len(rs) != 0 {
				t.Errorf("rules %v, want empty and not nil", rs)
			}
		}},
		{"rules key without a value", "rules:\n", func(t *testing.T, rs []Rule) {
			if rs == nil || len(rs) != 0 {
				t.Errorf("rules %v, want empty and not nil", rs)
			}
		}},
		{"null values are absent", ruleFile("    filter:\n    interval: ~\n    id: null\n"), func(t *testing.T, rs []Rule) {
			if rs[0].Filter != "" || rs[0].Interval != time.Minute || rs[0].ID != DeriveID("r1") {
				t.Errorf("rule %+v", rs[0])
			}
		}},
		{"blank filter is no filter", ruleFile("    filter: '  '\n"), func(t *testing.T, rs []Rule) {
			if rs[0].Filter != "" {
				t.Errorf("filter %q", rs[0].Filter)
			}
		}},
		{"aliases", ruleFile("    webhooks: &hooks\n      - url: https://example.com/a\n") + "  - name: r2\n    project: " + project + "\n    webhooks: *hooks\n", func(t *testing.T, rs []Rule) {
			if len(rs) != 2 || !reflect.DeepEqual(rs[0].Webhooks, rs[1].Webhooks) || rs[1].Webhooks[0].URL != "https://example.com/a" {
				t.Errorf("rules %+v", rs)
			}
		}},
		{"numeric name", "rules:\n  - name: 2024\n    project: " + project + "\n    webhooks: [{url: 'https://example.com/'}]\n", func(t *testing.T, rs []Rule) {
			if rs[0].Name != "2024" {
				t.Errorf("name %q", rs[0].Name)
			}
		}},
		{"sampling 0 and integer 1", ruleFile("    sampling_rate: 0\n") + "  - name: r2\n    project: " + project + "\n    sampling_rate: 1\n    webhooks: [{url: 'https://example.com/'}]\n", func(t *testing.T, rs []Rule) {
			if rs[0].SamplingRate != 0 || rs[1].SamplingRate != 1 {
				t.Errorf("rates %v %v", rs[0].SamplingRate, rs[1].SamplingRate)
			}
		}},
		{"header without value", ruleFile("    webhooks:\n      - url: https://example.com/\n        headers: {X-Flag: }\n"), func(t *testing.T, rs []Rule) {
			if v, ok := rs[0].Webhooks[0].Headers["X-Flag"]; !ok || v != "" {
				t.Errorf("headers %v", rs[0].Webhooks[0].Headers)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs, err := Parse([]byte(c.src), nil, testPolicy)
			if err != nil {
				t.Fatal(err)
			}
			if c.want != nil {
				c.want(t, rs)
			}
		})
	}
}

// Anchors live inside a rule: there is no free-standing key to hang them on.
func TestParseAliasesNeedKnownKeys(t *testing.T) {
	got := parseErr(t, "hooks: &h\n  - url: https://example.com/a\nrules: []\n", testPolicy)
	if got != `unknown key "hooks"; the keys here are rules (line 1)` {
		t.Errorf("error %s", got)
	}
}

func TestDeriveID(t *testing.T) {
	// Golden: a derived id must never change, or re-applying a file would
	// create every id-less rule anew.
	if got := DeriveID("slow-llm-calls").String(); got != "ef4bc5b7-0b24-5364-a46e-7fe3c9a4833b" {
		t.Errorf("DeriveID(slow-llm-calls) = %s", got)
	}
	if idNamespace != uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/runhook/runhook/rules")) {
		t.Errorf("idNamespace is not the documented derivation")
	}
	if a, b := DeriveID("a"), DeriveID("b"); a == b {
		t.Errorf("different names share id %s", a)
	}
	if v := DeriveID("x").Version(); v != 5 {
		t.Errorf("version %d, want 5 (SHA-1)", v)
	}
}

// Three bad rules and one good: all three reported, in file order, and no
// rules returned.
func TestParseCollectsEveryError(t *testing.T) {
	src := `rules:
  - name: ok
    project: ` + project + `
    webhooks: [{url: 'https://example.com/'}]
  - name: bad-interval
    project: ` + project + `
    interval: 10ms
    webhooks: [{url: 'https://example.com/'}]
  - project: " padded"
    webhooks: [{url: 'gopher://example.com/'}]
  - name: bad-hook
    project: ` + project + `
    webhooks: [{url: 'https://example.com/', colour: red}]
`
	got := parseErr(t, src, testPolicy)
	want := `rule "bad-interval": interval: 10ms is shorter than the minimum 1s (line 7)
rules[2]: name: is required (line 9)
rules[2]: project: " padded" has leading or trailing spaces (line 9)
rules[2]: webhooks[0].url: webhook URL gopher://example.com/: scheme must be http or https (line 10)
rule "bad-hook": webhooks[0]: unknown key "colour"; the keys here are url, headers, signing_secret, format, retry (line 13)`
	if got != want {
		t.Errorf("error:\n%s\nwant:\n%s", got, want)
	}
}

// Secrets (from the environment or written in the file) must not reach any
// error message, whatever field they land in.
func TestSecretsNeverInErrors(t *testing.T) {
	const secret = "Sup3rSecretValue-9f8e"
	lookup := env(map[string]string{"S": secret, "SIGN": "whsec_" + secret})
	cases := []struct{ name, fields string }{
		{"url query", "    webhooks:\n      - url: ftp://example.com/?secret=${S}\n"},
		{"url user info", "    webhooks:\n      - url: ftp://u:${S}@example.com/\n"},
		{"url user info literal", "    webhooks:\n      - url: https://u:" + secret + "@example.com/\n"},
		{"whole url from env", "    webhooks:\n      - url: ${S}\n"},
		{"url path from env", "    webhooks:\n      - url: ftp://example.com/${S}\n"},
		{"header value", "    webhooks:\n      - url: https://example.com/\n        headers: {Host: '${S}'}\n"},
		{"header value literal", "    webhooks:\n      - url: https://example.com/\n        headers: {Content-Type: '" + secret + "'}\n"},
		{"header value with line break", "    webhooks:\n      - url: https://example.com/\n        headers: {X-A: \"" + secret + "\\n\"}\n"},
		{"header name from env", "    webhooks:\n      - url: https://example.com/\n        headers: {'${S} x': v}\n"},
		{"signing secret", "    webhooks:\n      - url: https://example.com/\n        signing_secret: ${SIGN}\n"},
		{"signing secret literal", "    webhooks:\n      - url: https://example.com/\n        signing_secret: whsec_" + secret + "\n"},
		{"interval", "    interval: ${S}\n"},
		{"id", "    id: ${S}\n"},
		{"filter", "    filter: 'eq(name, ${S})'\n"},
		{"unknown key", "    ${S}: 1\n"},
		{"on_timeout", "    feedback: {require: [a], on_timeout: '${S}'}\n"},
		{"yaml syntax", "    filter: \"${S}\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(ruleFile(c.fields)), lookup, testPolicy)
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "Sup3r") {
				t.Errorf("error shows the secret: %s", err)
			}
			t.Log(err)
		})
	}
	// A rule named from the environment is called by its position.
	_, err := Parse([]byte("rules:\n  - name: ${S}\n    project: ' x'\n    webhooks: [{url: 'https://example.com/'}]\n"), lookup, testPolicy)
	if err == nil || strings.Contains(err.Error(), secret) || !strings.HasPrefix(err.Error(), "rules[0]: project:") {
		t.Errorf("error %v", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(good, []byte(ruleFile("")), 0o600); err != nil {
		t.Fatal(err)
	}
	rs, err := Load(good, nil, testPolicy)
	if err != nil || len(rs) != 1 || rs[0].Name != "r1" {
		t.Fatalf("Load = %v, %v", rs, err)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(ruleFile("    interval: 0s\n    enabled: maybe\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(bad, nil, testPolicy)
	var fe *FileError
	if !errors.As(err, &fe) || fe.Path != bad || len(fe.Errs) != 2 {
		t.Fatalf("Load error %#v", err)
	}
	want := bad + `: rule "r1": interval: 0s is shorter than the minimum 1s (line 4)` + "\n" +
		bad + `: rule "r1": enabled: must be true or false, got "maybe" (line 5)`
	if err.Error() != want {
		t.Errorf("error:\n%s\nwant:\n%s", err, want)
	}

	missing := filepath.Join(dir, "nope.yaml")
	_, err = Load(missing, nil, testPolicy)
	if err == nil || !strings.Contains(err.Error(), missing) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file error %v", err)
	}
}

// The policy given is the one applied.
func TestParseUsesPolicy(t *testing.T) {
	src := ruleFile("    webhooks:\n      - url: https://example.com:8443/\n")
	if _, err := Parse([]byte(src), nil, delivery.URLPolicy{}); err != nil {
		t.Fatal(err)
	}
	got := parseErr(t, src, delivery.URLPolicy{AllowedPorts: []int{443}})
	if !strings.Contains(got, "webhooks[0].url: webhook URL https://example.com:8443/: port 8443 is not in delivery.allowed_ports") {
		t.Errorf("error %s", got)
	}
	got = parseErr(t, src, delivery.URLPolicy{MaxURLLength: 10})
	if !strings.Contains(got, "webhooks[0].url: webhook URL is 25 characters long, more than delivery.max_url_length 10") {
		t.Errorf("error %s", got)
	}
}
