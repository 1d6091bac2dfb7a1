package config_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runhook/runhook/internal/config"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "runhook.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const goodKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" // base64 of bytes 0..31

func TestDefaults(t *testing.T) {
	c, err := config.Load(config.Options{Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if c.ClickHouse.Addr != "127.0.0.1:9000" || c.Temporal.Address != "127.0.0.1:7233" ||
		c.Temporal.Namespace != "default" || c.Temporal.UIURL != "http://127.0.0.1:8233" ||
		c.Delivery.Timeout != 5*time.Second || c.Delivery.AllowPrivate {
		t.Errorf("defaults = %+v", c)
	}
}

func TestPrecedence(t *testing.T) {
	path := writeFile(t, `
clickhouse:
  addr: 10.0.0.1:9000
  database: fromfile
temporal:
  task_queue: file-queue
delivery:
  timeout: 3s
`)
	c, err := config.Load(config.Options{File: path, Environ: []string{
		"RUNHOOK_CLICKHOUSE_DATABASE=fromenv",
		"RUNHOOK_TEMPORAL_TASK_QUEUE=env-queue",
		"RUNHOOK_DELIVERY_ALLOW_PRIVATE=true",
		"UNRELATED=1",
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, got, want string }{
		{"file over default", c.ClickHouse.Addr, "10.0.0.1:9000"},
		{"env over file", c.ClickHouse.Database, "fromenv"},
		{"env over file (key with underscore)", c.Temporal.TaskQueue, "env-queue"},
		{"default kept", c.Temporal.Address, "127.0.0.1:7233"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	if c.Delivery.Timeout != 3*time.Second {
		t.Errorf("delivery.timeout = %s, want 3s from the file", c.Delivery.Timeout)
	}
	if !c.Delivery.AllowPrivate {
		t.Error("RUNHOOK_DELIVERY_ALLOW_PRIVATE=true not applied")
	}
}

func TestDefaultFileInWorkingDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, config.DefaultFile), []byte("temporal:\n  namespace: fromcwd\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	c, err := config.Load(config.Options{Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Temporal.Namespace != "fromcwd" {
		t.Errorf("namespace = %q, want it from ./%s", c.Temporal.Namespace, config.DefaultFile)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		file    string
		env     []string
		wantErr []string // substrings
	}{
		{"unknown key in file", "clickhouse:\n  adr: x:1\n", nil, []string{`unknown key "clickhouse.adr"`}},
		{"unknown section in file", "webhooks:\n  x: 1\n", nil, []string{`unknown key "webhooks.x"`}},
		{"misspelt env key", "", []string{"RUNHOOK_CLICKHOUSE_ADR=x:1"}, []string{"RUNHOOK_CLICKHOUSE_ADR", `"clickhouse.adr"`}},
		{"bad duration", "delivery:\n  timeout: soon\n", nil, []string{"timeout"}},
		{"zero timeout", "", []string{"RUNHOOK_DELIVERY_TIMEOUT=0s"}, []string{"delivery.timeout", "positive"}},
		{"bad addr", "", []string{"RUNHOOK_CLICKHOUSE_ADDR=nohost"}, []string{"clickhouse.addr", "host:port"}},
		{"bad database", "", []string{"RUNHOOK_CLICKHOUSE_DATABASE=a-b; DROP"}, []string{"clickhouse.database"}},
		{"bad log level", "", []string{"RUNHOOK_LOG_LEVEL=loud"}, []string{"log.level"}},
		{"bad log format", "", []string{"RUNHOOK_LOG_FORMAT=xml"}, []string{"log.format"}},
		{"empty task queue", "", []string{"RUNHOOK_TEMPORAL_TASK_QUEUE="}, []string{"temporal.task_queue"}},
		{"invalid yaml", "clickhouse: [\n", nil, []string{"config file"}},
		{"plain api key in key_hashes", "", []string{"RUNHOOK_API_KEY_HASHES=lsv2_plainkey"}, []string{"api.key_hashes", "entry 0", "sha256:"}},
		{"public url with query", "", []string{"RUNHOOK_API_PUBLIC_URL=http://h:1/?a=b"}, []string{"api.public_url"}},
		{"negative inline max", "", []string{"RUNHOOK_PAYLOAD_INLINE_MAX_BYTES=-1"}, []string{"payload.inline_max_bytes"}},
		{"bad webhook format", "", []string{"RUNHOOK_HTTP_WEBHOOK_FORMAT=LangGraph"}, []string{"http.webhook_format", "langsmith or langgraph"}},
		{"short presign ttl", "", []string{"RUNHOOK_PAYLOAD_PRESIGN_TTL=10ms"}, []string{"payload.presign_ttl"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := config.Options{Environ: tc.env}
			if opts.Environ == nil {
				opts.Environ = []string{}
			}
			if tc.file != "" {
				opts.File = writeFile(t, tc.file)
			}
			_, err := config.Load(opts)
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

func TestMissingExplicitFile(t *testing.T) {
	_, err := config.Load(config.Options{File: filepath.Join(t.TempDir(), "nope.yaml"), Environ: []string{}})
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Fatalf("err = %v, want one naming the file", err)
	}
}

func TestSecretsKey(t *testing.T) {
	secret := "c2VjcmV0LXZhbHVlLXRoYXQtaXMtdG9vLXNob3J0" // valid base64, wrong length
	for _, tc := range []struct {
		name, key, want string
	}{
		{"valid", goodKey, ""},
		{"not base64", "not*base64!" + secret, "not valid base64"},
		{"wrong length", secret, "decodes to 30 bytes, want 32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Load(config.Options{Environ: []string{"RUNHOOK_SECRETS_KEY=" + tc.key}})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if b, err := c.Secrets.KeyBytes(); err != nil || len(b) != 32 {
					t.Fatalf("KeyBytes = %d bytes, %v", len(b), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "secrets.key") {
				t.Fatalf("err = %v, want secrets.key and %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error echoes the key: %v", err)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	c, err := config.Load(config.Options{Environ: []string{
		"RUNHOOK_SECRETS_KEY=" + goodKey, "RUNHOOK_CLICKHOUSE_PASSWORD=hunter2",
	}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Redact().YAML()
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if strings.Contains(s, goodKey) || strings.Contains(s, "hunter2") {
		t.Fatalf("secrets in output:\n%s", s)
	}
	if strings.Count(s, config.Redacted) != 2 {
		t.Errorf("want 2 redacted values:\n%s", s)
	}
	if !strings.Contains(s, "timeout: 5s") || !strings.Contains(s, "task_queue: runhook") {
		t.Errorf("output lacks keys in file form:\n%s", s)
	}
	if c.Secrets.Key != goodKey {
		t.Error("Redact changed the original")
	}
}

func TestEnvNames(t *testing.T) {
	for _, key := range config.Keys() {
		env := config.EnvForKey(key)
		back, ok := config.KeyForEnv(env)
		if !ok || back != key {
			t.Errorf("%s -> %s -> %s", key, env, back)
		}
	}
	for _, want := range []string{"RUNHOOK_CLICKHOUSE_ADDR", "RUNHOOK_TEMPORAL_ADDRESS", "RUNHOOK_TEMPORAL_TASK_QUEUE",
		"RUNHOOK_SECRETS_KEY", "RUNHOOK_DELIVERY_ALLOW_PRIVATE"} {
		key, _ := config.KeyForEnv(want)
		found := false
		for _, k := range config.Keys() {
			found = found || k == key
		}
		if !found {
			t.Errorf("%s maps to %q, not a config key", want, key)
		}
	}
}

// What make dev, the tests and the benches set to open loopback alone.
func TestLoopbackCIDRsFromEnv(t *testing.T) {
	c, err := config.Load(config.Options{Environ: []string{"RUNHOOK_DELIVERY_ALLOW_CIDRS=127.0.0.0/8,::1/128"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Delivery.AllowCIDRs; len(got) != 2 || got[0] != "127.0.0.0/8" || got[1] != "::1/128" || c.Delivery.AllowPrivate {
		t.Errorf("allow_cidrs = %q, allow_private = %v", got, c.Delivery.AllowPrivate)
	}
}

func TestListsFromEnvAndFile(t *testing.T) {
	c, err := config.Load(config.Options{Environ: []string{
		"RUNHOOK_DELIVERY_ALLOW_CIDRS=10.0.0.0/8, 127.0.0.0/8",
		"RUNHOOK_DELIVERY_ALLOWED_PORTS=443,8443",
		"RUNHOOK_SECRETS_RETIRED_KEYS=" + goodKey,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Delivery.AllowCIDRs) != 2 || c.Delivery.AllowCIDRs[1] != "127.0.0.0/8" {
		t.Errorf("allow_cidrs = %q", c.Delivery.AllowCIDRs)
	}
	if len(c.Delivery.AllowedPorts) != 2 || c.Delivery.AllowedPorts[1] != 8443 {
		t.Errorf("allowed_ports = %v", c.Delivery.AllowedPorts)
	}
	out, _ := c.Redact().YAML()
	if strings.Contains(string(out), goodKey) {
		t.Errorf("retired key printed:\n%s", out)
	}
	path := writeFile(t, "delivery:\n  allowed_domains: [hooks.example.com]\n  allow_cidrs: [nope]\n")
	_, err = config.Load(config.Options{File: path, Environ: []string{}})
	if err == nil || !strings.Contains(err.Error(), "delivery.allow_cidrs") {
		t.Fatalf("err = %v, want delivery.allow_cidrs named", err)
	}
}

func TestStandardSchedule(t *testing.T) {
	path := writeFile(t, "delivery:\n  standard_schedule: [10ms, 1s, 2m]\n")
	c, err := config.Load(config.Options{File: path, Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []time.Duration{10 * time.Millisecond, time.Second, 2 * time.Minute}; !slices.Equal(c.Delivery.StandardSchedule, want) {
		t.Errorf("standard_schedule = %v, want %v", c.Delivery.StandardSchedule, want)
	}
	if c, err = config.Load(config.Options{Environ: []string{"RUNHOOK_DELIVERY_STANDARD_SCHEDULE=5ms,1s"}}); err != nil ||
		!slices.Equal(c.Delivery.StandardSchedule, []time.Duration{5 * time.Millisecond, time.Second}) {
		t.Errorf("standard_schedule from the environment = %v, %v", c.Delivery.StandardSchedule, err)
	}
	path = writeFile(t, "delivery:\n  standard_schedule: [48h]\n")
	if _, err := config.Load(config.Options{File: path, Environ: []string{}}); err == nil || !strings.Contains(err.Error(), "delivery.standard_schedule") {
		t.Errorf("err = %v, want delivery.standard_schedule named", err)
	}
}

func TestRetention(t *testing.T) {
	c, err := config.Load(config.Options{Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	day := 24 * time.Hour
	if want := (config.Retention{Arrivals: 7 * day, Events: 30 * day, Attempts: 30 * day}); c.Retention != want {
		t.Errorf("default retention = %+v, want %+v", c.Retention, want)
	}
	c, err = config.Load(config.Options{File: writeFile(t, "retention:\n  runs: 2160h\n  feedback: 0s\n"),
		Environ: []string{"RUNHOOK_RETENTION_ARRIVALS=48h", "RUNHOOK_RETENTION_EVENTS=0"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := (config.Retention{Runs: 90 * day, Arrivals: 2 * day, Attempts: 30 * day}); c.Retention != want {
		t.Errorf("retention from file and environment = %+v, want %+v", c.Retention, want)
	}

	for _, tc := range []struct {
		name    string
		env     []string
		wantErr []string
	}{
		{"part of a day", []string{"RUNHOOK_RETENTION_RUNS=36h"}, []string{"retention.runs", "must be 0 (keep) or at least 1 day", "36h"}},
		{"under a day", []string{"RUNHOOK_RETENTION_FEEDBACK=12h"}, []string{"retention.feedback", "at least 1 day"}},
		{"negative", []string{"RUNHOOK_RETENTION_EVENTS=-24h"}, []string{"retention.events"}},
		{"attempts", []string{"RUNHOOK_RETENTION_ATTEMPTS=1h"}, []string{"retention.attempts"}},
		{"arrivals shorter than a window re-reads", []string{"RUNHOOK_RULES_MAX_WINDOW=12h", "RUNHOOK_RETENTION_ARRIVALS=24h"},
			[]string{"retention.arrivals", "2 × rules.max_window + rules.lookback + rules.recent", "24h"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load(config.Options{Environ: tc.env})
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
	// Keeping arrivals forever needs no check against the windows.
	if _, err := config.Load(config.Options{Environ: []string{"RUNHOOK_RULES_MAX_WINDOW=48h", "RUNHOOK_RETENTION_ARRIVALS=0"}}); err != nil {
		t.Errorf("arrivals kept forever with long windows: %v", err)
	}
	// Day windows need 2 days + lookback + recent: 48h is short, 72h enough.
	if _, err := config.Load(config.Options{Environ: []string{"RUNHOOK_RULES_MAX_WINDOW=24h", "RUNHOOK_RETENTION_ARRIVALS=48h"}}); err == nil {
		t.Error("arrivals of 48h accepted with windows of 24h")
	}
	if _, err := config.Load(config.Options{Environ: []string{"RUNHOOK_RULES_MAX_WINDOW=24h", "RUNHOOK_RETENTION_ARRIVALS=72h"}}); err != nil {
		t.Errorf("arrivals of 72h with windows of 24h: %v", err)
	}
}
