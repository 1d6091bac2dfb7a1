// Package config loads runhook's settings: defaults, then a YAML file, then
// RUNHOOK_<SECTION>_<KEY> environment variables, each layer overriding the last.
package config

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/structs"
	"github.com/knadh/koanf/v2"
)

// EnvPrefix starts every environment variable that sets a config key.
const EnvPrefix = "RUNHOOK_"

// DefaultFile is read from the working directory when no --config is given.
const DefaultFile = "runhook.yaml"

type Config struct {
	ClickHouse ClickHouse `koanf:"clickhouse"`
	Temporal   Temporal   `koanf:"temporal"`
	Worker     Worker     `koanf:"worker"`
	Secrets    Secrets    `koanf:"secrets"`
	Delivery   Delivery   `koanf:"delivery"`
	Rules      Rules      `koanf:"rules"`
	Metrics    Metrics    `koanf:"metrics"`
	Log        Log        `koanf:"log"`
	API        API        `koanf:"api"`
	HTTP       HTTP       `koanf:"http"`
	Payload    Payload    `koanf:"payload"`
	Retention  Retention  `koanf:"retention"`
	Webhooks   Webhooks   `koanf:"webhooks"`
	Alerts     Alerts     `koanf:"alerts"`
}

type ClickHouse struct {
	Addr        string        `koanf:"addr"`
	Database    string        `koanf:"database"`
	Username    string        `koanf:"username"`
	Password    string        `koanf:"password" secret:"true"`
	DialTimeout time.Duration `koanf:"dial_timeout"`
	// BatchSize caps the rows sent in one INSERT block.
	BatchSize int `koanf:"batch_size"`
	// CommitRows and CommitWait shape group commit: concurrent small writes
	// of one table (delivery attempts and outcomes, claims, rule events,
	// pauses, run webhooks) share one INSERT of at most CommitRows rows; an
	// idle table's first write waits CommitWait for others to join.
	CommitRows int           `koanf:"commit_rows"`
	CommitWait time.Duration `koanf:"commit_wait"`
}

type Temporal struct {
	Address   string `koanf:"address"`
	Namespace string `koanf:"namespace"`
	TaskQueue string `koanf:"task_queue"`
	UIURL     string `koanf:"ui_url"`
}

// Worker tunes the worker's Temporal pollers and concurrency.
type Worker struct {
	// Pollers is how many long polls each kind of task (workflow, activity)
	// keeps open; fewer left fan-out waiting on dispatch (issue 12).
	Pollers int `koanf:"pollers"`
	// MaxActivities and MaxWorkflowTasks cap what one worker runs at once.
	MaxActivities    int `koanf:"max_activities"`
	MaxWorkflowTasks int `koanf:"max_workflow_tasks"`
}

type Secrets struct {
	// Key is base64 of 32 bytes; it encrypts webhook URLs, headers and signing secrets at rest.
	Key string `koanf:"key" secret:"true"`
	// RetiredKeys still open values sealed before a key rotation (comma-separated in the environment).
	RetiredKeys []string `koanf:"retired_keys" secret:"true"`
}

type Delivery struct {
	// Timeout is how long a receiver has to send response headers (LangSmith: 5 s).
	Timeout time.Duration `koanf:"timeout"`
	// InitialInterval and BackoffCoefficient shape the retries of connect failures and 5xx.
	InitialInterval    time.Duration `koanf:"initial_interval"`
	BackoffCoefficient float64       `koanf:"backoff_coefficient"`
	MaxBodyBytes       int           `koanf:"max_body_bytes"`
	MaxRunsPerDelivery int           `koanf:"max_runs_per_delivery"`
	// PauseAfterFailures pauses a rule after this many failed deliveries in a row; 0 never.
	PauseAfterFailures int `koanf:"pause_after_failures"`
	// StandardSchedule is the delays between the attempts of a webhook with
	// `retry: standard`; empty is the Standard Webhooks schedule (5s ... 24h).
	// Tests set a short one.
	StandardSchedule []time.Duration `koanf:"standard_schedule"`
	// AllowPrivate and AllowCIDRs open addresses the SSRF guard refuses.
	// AllowPrivate never opens cloud metadata or link-local addresses; only
	// an AllowCIDRs entry inside their range does (internal/netguard).
	AllowPrivate   bool     `koanf:"allow_private"`
	AllowCIDRs     []string `koanf:"allow_cidrs"`
	RequireHTTPS   bool     `koanf:"require_https"`
	AllowedDomains []string `koanf:"allowed_domains"`
	AllowedPorts   []int    `koanf:"allowed_ports"`
	MaxURLLength   int      `koanf:"max_url_length"`
	// DisableLoopback refuses webhook URLs whose host is localhost or a
	// loopback address, when they are given (rules applied, runs created).
	DisableLoopback bool `koanf:"disable_loopback"`
}

// Rules shapes how a rule's ticks cut windows of server insertion time.
type Rules struct {
	// SettleLag keeps a window's end this far behind the server's clock, so
	// inserts still in flight at the cut land in the next window.
	SettleLag time.Duration `koanf:"settle_lag"`
	// Lookback re-reads this much before each window: an insert whose server
	// time falls in an earlier window but that became visible only after that
	// window was read (a slow or large insert) is still found. Claims keep
	// re-read runs from being handed on twice.
	Lookback time.Duration `koanf:"lookback"`
	// MaxWindow caps one window; a longer gap is split.
	MaxWindow time.Duration `koanf:"max_window"`
	// PageSize caps the runs one match query hands on.
	PageSize int `koanf:"page_size"`
	// MaxWindowsPerTick bounds a tick's work (and history); the next tick goes on.
	MaxWindowsPerTick int `koanf:"max_windows_per_tick"`
	// Recent is how far before a window its match reads the project's run and
	// feedback arrivals for runs that started recently: their feedback, the
	// roots of their traces and runs given feedback in the window are found in
	// that range. Runs that started earlier are looked up by id.
	Recent time.Duration `koanf:"recent"`
}

type Metrics struct {
	Addr string `koanf:"addr"`
	// Profiles serves net/http/pprof under /debug/pprof/ beside /metrics.
	// Off by default: a profile is for whoever runs the worker, and it costs
	// CPU while taken.
	Profiles bool `koanf:"profiles"`
}

type Log struct {
	Level  string `koanf:"level"`
	Format string `koanf:"format"`
}

// API is the LangSmith-compatible HTTP API (bin/server).
type API struct {
	Addr string `koanf:"addr"`
	// KeyHashes are the accepted x-api-key values, each stored as
	// "sha256:<hex>" of the key (`starter apikey new` makes one).
	KeyHashes []string `koanf:"key_hashes"`
	// PublicURL is where receivers reach this API: presigned URLs for large
	// inputs and outputs start with it.
	PublicURL string `koanf:"public_url"`
	// MaxBodyBytes caps one request body.
	MaxBodyBytes int64 `koanf:"max_body_bytes"`
}

// HTTP holds LangGraph's http.* switches for run-completion webhooks.
type HTTP struct {
	// DisableWebhooks stores runs that ask for a webhook without registering it.
	DisableWebhooks bool `koanf:"disable_webhooks"`
	// WebhookMaxWait is how long a run's webhook waits for the run to end
	// before it is given up (recorded failed, nothing sent).
	WebhookMaxWait time.Duration `koanf:"webhook_max_wait"`
	// WebhookFormat is the body a run-completion webhook gets: "langsmith"
	// (the run in LangSmith's shape) or "langgraph" (LangGraph's Run shape).
	// It applies to runs registered after it is set.
	WebhookFormat string `koanf:"webhook_format"`
}

// Payload shapes webhook bodies.
type Payload struct {
	// InlineMaxBytes: inputs or outputs longer than this are sent as a
	// presigned URL (inputs_s3_urls / outputs_s3_urls) instead of inline.
	InlineMaxBytes int `koanf:"inline_max_bytes"`
	// PresignTTL is how long a presigned URL stays valid.
	PresignTTL time.Duration `koanf:"presign_ttl"`
}

// Retention is how long each kind of data is kept before its partitions are
// dropped (internal/retention): whole days, 0 keeps it forever. ClickHouse
// 18.16 has no TTL, so dropping whole day or month partitions is the one way
// that works on every supported version.
type Retention struct {
	Runs     time.Duration `koanf:"runs"`
	Feedback time.Duration `koanf:"feedback"`
	// Arrivals (run_arrivals, feedback_arrivals) bounds how far back a
	// backfill can re-read windows.
	Arrivals time.Duration `koanf:"arrivals"`
	// Events covers rule_events, delivery_outcomes and delivery_ends: what
	// `rules logs` and `rules redeliver --failed` can see.
	Events   time.Duration `koanf:"events"`
	Attempts time.Duration `koanf:"attempts"`
}

// Default is the configuration with nothing set: it points at the local services
// that `make services` starts.
func Default() Config {
	return Config{
		ClickHouse: ClickHouse{
			Addr:        "127.0.0.1:9000",
			Database:    "runhook",
			Username:    "default",
			DialTimeout: 5 * time.Second,
			BatchSize:   100_000,
			CommitRows:  5000,
			CommitWait:  2 * time.Millisecond,
		},
		Worker: Worker{Pollers: 8, MaxActivities: 512, MaxWorkflowTasks: 256},
		Temporal: Temporal{
			Address:   "127.0.0.1:7233",
			Namespace: "default",
			TaskQueue: "runhook",
			UIURL:     "http://127.0.0.1:8233",
		},
		Delivery: Delivery{
			Timeout:            5 * time.Second,
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaxBodyBytes:       5 << 20,
			MaxRunsPerDelivery: 100,
			PauseAfterFailures: 5,
			MaxURLLength:       2048,
		},
		Rules: Rules{
			SettleLag:         time.Second,
			Lookback:          time.Minute,
			MaxWindow:         time.Hour,
			PageSize:          1000,
			MaxWindowsPerTick: 24,
			Recent:            15 * time.Minute,
		},
		Metrics: Metrics{Addr: "127.0.0.1:9464"},
		Log:     Log{Level: "info", Format: "text"},
		API: API{
			Addr:         "127.0.0.1:1984",
			PublicURL:    "http://127.0.0.1:1984",
			MaxBodyBytes: 64 << 20,
		},
		HTTP:    HTTP{WebhookMaxWait: 24 * time.Hour, WebhookFormat: "langsmith"},
		Payload: Payload{InlineMaxBytes: 256 << 10, PresignTTL: 24 * time.Hour},
		Retention: Retention{
			Arrivals: 7 * 24 * time.Hour,
			Events:   30 * 24 * time.Hour,
			Attempts: 30 * 24 * time.Hour,
		},
		Webhooks: Webhooks{EnvPrefix: DefaultWebhookEnvPrefix},
	}
}

// Options says where Load looks. Zero values mean: the default file if it
// exists, and the process environment.
type Options struct {
	// File is an explicit config file; it must exist.
	File string
	// Environ replaces os.Environ (tests).
	Environ []string
}

// Load builds the effective configuration and validates it.
func Load(opts Options) (Config, error) {
	k := koanf.New(".")
	if err := k.Load(structs.Provider(Default(), "koanf"), nil); err != nil {
		return Config{}, fmt.Errorf("config defaults: %w", err)
	}
	known, sections, given := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, key := range k.Keys() {
		known[key] = true
		sections[strings.SplitN(key, ".", 2)[0]] = true
	}

	listKeys := listKeys(reflect.TypeOf(Config{}), "")

	path := opts.File
	if path == "" {
		if _, err := os.Stat(DefaultFile); err == nil {
			path = DefaultFile
		}
	}
	if path != "" {
		fk := koanf.New(".")
		if err := fk.Load(file.Provider(path), yaml.Parser()); err != nil {
			return Config{}, fmt.Errorf("config file %s: %w", path, err)
		}
		for _, key := range fk.Keys() {
			given[key] = true
			if name, ok := strings.CutPrefix(key, headersKey); ok && strings.Contains(name, ".") {
				// koanf splits keys at dots, so such a name would not come through whole.
				return Config{}, fmt.Errorf("config file %s: webhooks.headers: header name %q has a \".\"", path, name)
			}
			if !known[key] && !strings.HasPrefix(key, headersKey) {
				return Config{}, fmt.Errorf("config file %s: unknown key %q (known keys: %s)", path, key, strings.Join(Keys(), ", "))
			}
		}
		if err := k.Merge(fk); err != nil {
			return Config{}, fmt.Errorf("config file %s: %w", path, err)
		}
	}

	environ := opts.Environ
	if environ == nil {
		environ = os.Environ()
	}
	var envErr error
	ek := koanf.New(".")
	err := ek.Load(env.Provider(".", env.Opt{
		Prefix:      EnvPrefix,
		EnvironFunc: func() []string { return environ },
		TransformFunc: func(name, value string) (string, any) {
			key, ok := KeyForEnv(name)
			if !ok {
				return "", nil
			}
			if !known[key] {
				// A misspelt key in a known section is an error; other RUNHOOK_*
				// variables (the scripts' own) are not config and are left alone.
				if sections[strings.SplitN(key, ".", 2)[0]] && envErr == nil {
					envErr = fmt.Errorf("environment variable %s: %q is not a config key", name, key)
				}
				return "", nil
			}
			if listKeys[key] {
				// Lists come from the environment comma-separated.
				var items []string
				for _, item := range strings.Split(value, ",") {
					if item = strings.TrimSpace(item); item != "" {
						items = append(items, item)
					}
				}
				return key, items
			}
			return key, value
		},
	}), nil)
	if err != nil {
		return Config{}, fmt.Errorf("config environment: %w", err)
	}
	if envErr != nil {
		return Config{}, envErr
	}
	if err := k.Merge(ek); err != nil {
		return Config{}, fmt.Errorf("config environment: %w", err)
	}
	for _, key := range ek.Keys() {
		given[key] = true
	}

	var c Config
	if err := k.UnmarshalWithConf("", &c, koanf.UnmarshalConf{Tag: "koanf"}); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	if err := c.applyURLAliases(given); err != nil {
		return Config{}, err
	}
	if c.Webhooks.EnvPrefix == "" {
		return Config{}, fmt.Errorf("config webhooks.env_prefix: must not be empty: header templates could read any variable")
	}
	if err := c.Webhooks.resolveHeaders(lookupIn(environ)); err != nil {
		return Config{}, err
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// lookupIn finds a variable in an environment of NAME=value entries; the
// last entry of a name wins, as in os.Getenv.
func lookupIn(environ []string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		value, found := "", false
		for _, kv := range environ {
			if n, v, ok := strings.Cut(kv, "="); ok && n == name {
				value, found = v, true
			}
		}
		return value, found
	}
}

// listKeys finds the keys whose values are lists.
func listKeys(t reflect.Type, prefix string) map[string]bool {
	out := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		key := prefix + f.Tag.Get("koanf")
		switch f.Type.Kind() {
		case reflect.Struct:
			for k := range listKeys(f.Type, key+".") {
				out[k] = true
			}
		case reflect.Slice:
			out[key] = true
		}
	}
	return out
}

// KeyForEnv maps RUNHOOK_TEMPORAL_TASK_QUEUE to temporal.task_queue. Sections
// never contain an underscore, so the first one after the prefix splits section from key;
// a section's subsections (webhooks.url) are split off the key the same way.
func KeyForEnv(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, EnvPrefix)
	if !ok {
		return "", false
	}
	section, key, ok := strings.Cut(strings.ToLower(rest), "_")
	if !ok || section == "" || key == "" {
		return "", false
	}
	for _, sub := range subsections[section] {
		if k, ok := strings.CutPrefix(key, sub+"_"); ok && k != "" {
			return section + "." + sub + "." + k, true
		}
	}
	return section + "." + key, true
}

// subsections are the sections nested in a section.
var subsections = map[string][]string{"webhooks": {"url"}}

// EnvForKey maps temporal.task_queue to RUNHOOK_TEMPORAL_TASK_QUEUE.
func EnvForKey(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Keys lists every config key, dotted, sorted.
func Keys() []string {
	k := koanf.New(".")
	_ = k.Load(structs.Provider(Default(), "koanf"), nil)
	keys := k.Keys()
	sort.Strings(keys)
	return keys
}

// Validate checks every value and returns one error joining all the bad
// ones, each naming its key, so a user fixes a config in one pass.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("config %s: "+format, append([]any{key}, args...)...))
	}
	if err := checkHostPort(c.ClickHouse.Addr); err != nil {
		bad("clickhouse.addr", "%v", err)
	}
	if !IsIdentifier(c.ClickHouse.Database) {
		bad("clickhouse.database", "%q is not a valid database name (letters, digits and _ only, not starting with a digit)", c.ClickHouse.Database)
	}
	if c.ClickHouse.DialTimeout <= 0 {
		bad("clickhouse.dial_timeout", "must be positive, got %s", c.ClickHouse.DialTimeout)
	}
	if c.ClickHouse.BatchSize <= 0 {
		bad("clickhouse.batch_size", "must be positive, got %d", c.ClickHouse.BatchSize)
	}
	if c.ClickHouse.CommitRows <= 0 {
		bad("clickhouse.commit_rows", "must be positive, got %d", c.ClickHouse.CommitRows)
	}
	if c.ClickHouse.CommitWait < 0 || c.ClickHouse.CommitWait > time.Second {
		bad("clickhouse.commit_wait", "must be between 0 and 1s, got %s", c.ClickHouse.CommitWait)
	}
	if c.Worker.Pollers < 2 {
		bad("worker.pollers", "must be at least 2, got %d", c.Worker.Pollers)
	}
	if c.Worker.MaxActivities <= 0 {
		bad("worker.max_activities", "must be positive, got %d", c.Worker.MaxActivities)
	}
	if c.Worker.MaxWorkflowTasks < 2 {
		bad("worker.max_workflow_tasks", "must be at least 2, got %d", c.Worker.MaxWorkflowTasks)
	}
	if c.Rules.SettleLag < time.Second {
		bad("rules.settle_lag", "must be at least 1s (server insertion time has whole seconds), got %s", c.Rules.SettleLag)
	}
	if c.Rules.Recent < 0 {
		bad("rules.recent", "must not be negative, got %s", c.Rules.Recent)
	}
	if c.Rules.Lookback < 0 {
		bad("rules.lookback", "must not be negative, got %s", c.Rules.Lookback)
	}
	if c.Rules.MaxWindow < time.Second {
		bad("rules.max_window", "must be at least 1s, got %s", c.Rules.MaxWindow)
	}
	if c.Rules.PageSize <= 0 || c.Rules.PageSize > 10000 {
		bad("rules.page_size", "must be between 1 and 10000, got %d", c.Rules.PageSize)
	}
	if c.Rules.MaxWindowsPerTick <= 0 || c.Rules.MaxWindowsPerTick > 1000 {
		bad("rules.max_windows_per_tick", "must be between 1 and 1000, got %d", c.Rules.MaxWindowsPerTick)
	}
	if err := checkHostPort(c.Temporal.Address); err != nil {
		bad("temporal.address", "%v", err)
	}
	if c.Temporal.Namespace == "" {
		bad("temporal.namespace", "must not be empty")
	}
	if c.Temporal.TaskQueue == "" {
		bad("temporal.task_queue", "must not be empty")
	}
	if c.Secrets.Key != "" {
		if _, err := c.Secrets.KeyBytes(); err != nil {
			bad("secrets.key", "%v", err)
		}
	}
	for i, k := range c.Secrets.RetiredKeys {
		if _, err := (Secrets{Key: k}).KeyBytes(); err != nil {
			bad("secrets.retired_keys", "entry %d %v", i, err)
		}
	}
	if c.Delivery.Timeout <= 0 {
		bad("delivery.timeout", "must be positive, got %s", c.Delivery.Timeout)
	}
	if c.Delivery.InitialInterval <= 0 {
		bad("delivery.initial_interval", "must be positive, got %s", c.Delivery.InitialInterval)
	}
	if c.Delivery.BackoffCoefficient < 1 {
		bad("delivery.backoff_coefficient", "must be at least 1, got %g", c.Delivery.BackoffCoefficient)
	}
	if c.Delivery.MaxBodyBytes < 1024 {
		bad("delivery.max_body_bytes", "must be at least 1024, got %d", c.Delivery.MaxBodyBytes)
	}
	if c.Delivery.MaxRunsPerDelivery < 1 {
		bad("delivery.max_runs_per_delivery", "must be at least 1, got %d", c.Delivery.MaxRunsPerDelivery)
	}
	for _, d := range c.Delivery.StandardSchedule {
		if d < 0 || d > 24*time.Hour {
			bad("delivery.standard_schedule", "each delay must be between 0 and 24h, got %s", d)
		}
	}
	if c.Delivery.PauseAfterFailures < 0 {
		bad("delivery.pause_after_failures", "must be 0 (never) or more, got %d", c.Delivery.PauseAfterFailures)
	}
	for _, cidr := range c.Delivery.AllowCIDRs {
		if _, err := netip.ParsePrefix(cidr); err != nil {
			bad("delivery.allow_cidrs", "%q is not a CIDR prefix (e.g. 10.0.0.0/8)", cidr)
		}
	}
	for _, port := range c.Delivery.AllowedPorts {
		if port < 1 || port > 65535 {
			bad("delivery.allowed_ports", "%d is not a port", port)
		}
	}
	for _, d := range c.Delivery.AllowedDomains {
		if err := checkDomain(d); err != nil {
			bad("delivery.allowed_domains", "%v", err)
		}
	}
	if c.Delivery.MaxURLLength < 16 {
		bad("delivery.max_url_length", "must be at least 16, got %d", c.Delivery.MaxURLLength)
	}
	if c.Metrics.Addr != "" {
		if err := checkHostPort(c.Metrics.Addr); err != nil {
			bad("metrics.addr", "%v", err)
		}
	}
	if err := checkHostPort(c.API.Addr); err != nil {
		bad("api.addr", "%v", err)
	}
	for i, h := range c.API.KeyHashes {
		if !IsKeyHash(h) {
			bad("api.key_hashes", "entry %d is not \"sha256:\" followed by 64 hex digits (make one with `starter apikey new`)", i)
		}
	}
	if u, err := url.Parse(c.API.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		bad("api.public_url", "%q is not an http(s) URL without a query", c.API.PublicURL)
	}
	if c.API.MaxBodyBytes < 1024 {
		bad("api.max_body_bytes", "must be at least 1024, got %d", c.API.MaxBodyBytes)
	}
	if c.HTTP.WebhookMaxWait < time.Second {
		bad("http.webhook_max_wait", "must be at least 1s, got %s", c.HTTP.WebhookMaxWait)
	}
	if c.HTTP.WebhookFormat != "langsmith" && c.HTTP.WebhookFormat != "langgraph" {
		bad("http.webhook_format", "must be langsmith or langgraph, got %q", c.HTTP.WebhookFormat)
	}
	if c.Payload.InlineMaxBytes < 0 {
		bad("payload.inline_max_bytes", "must be 0 (never inline) or more, got %d", c.Payload.InlineMaxBytes)
	}
	if c.Payload.PresignTTL < time.Second {
		bad("payload.presign_ttl", "must be at least 1s, got %s", c.Payload.PresignTTL)
	}
	c.validateRetention(bad)
	c.Alerts.validate(bad)
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "%q is not one of text, json", c.Log.Format)
	}
	return errors.Join(errs...)
}

// validateRetention checks retention.*: partitions are days, so only whole
// days can be honoured.
func (c Config) validateRetention(bad func(key, format string, args ...any)) {
	const day = 24 * time.Hour
	for _, r := range []struct {
		key string
		d   time.Duration
	}{
		{"retention.runs", c.Retention.Runs},
		{"retention.feedback", c.Retention.Feedback},
		{"retention.arrivals", c.Retention.Arrivals},
		{"retention.events", c.Retention.Events},
		{"retention.attempts", c.Retention.Attempts},
	} {
		if r.d != 0 && (r.d < day || r.d%day != 0) {
			bad(r.key, "must be 0 (keep) or at least 1 day, in whole days (24h, 168h, 720h), got %s", r.d)
		}
	}
	// A tick may still re-read arrivals this old: a window of up to
	// max_window that can lag the clock by another max_window, re-read from
	// lookback before its start, and the project's arrivals for recent before
	// that. Dropping them sooner would lose runs that window should match.
	if a := c.Retention.Arrivals; a != 0 {
		if least := 2*c.Rules.MaxWindow + c.Rules.Lookback + c.Rules.Recent; a < least {
			bad("retention.arrivals", "must be 0 (keep) or at least 2 × rules.max_window + rules.lookback + rules.recent = %s, as a rule's window may re-read arrivals that old, got %s", least, a)
		}
	}
}

// KeyBytes decodes secrets.key. Its errors never contain the key itself.
func (s Secrets) KeyBytes() ([]byte, error) {
	if s.Key == "" {
		return nil, errors.New("not set (want base64 of 32 random bytes, e.g. `openssl rand -base64 32`)")
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s.Key))
	if err != nil {
		return nil, errors.New("is not valid base64 (want base64 of 32 random bytes)")
	}
	if len(b) != 32 {
		return nil, fmt.Errorf("decodes to %d bytes, want 32", len(b))
	}
	return b, nil
}

// IsKeyHash reports whether h has the form api.key_hashes takes.
func IsKeyHash(h string) bool {
	hexPart, ok := strings.CutPrefix(h, "sha256:")
	if !ok || len(hexPart) != 64 {
		return false
	}
	_, err := hex.DecodeString(hexPart)
	return err == nil
}

func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	_ = host
	if port == "" {
		return fmt.Errorf("%q has no port", addr)
	}
	return nil
}

// IsIdentifier reports whether s is a safe ClickHouse identifier: identifiers
// cannot be bound, so names that reach SQL text must pass this.
func IsIdentifier(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
