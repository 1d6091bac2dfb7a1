// Package console holds the web console that bin/server serves at /console:
// server-rendered pages of the rules, each rule's log and deliveries, the
// run-completion webhooks and what became of one run, and the rule actions
// (pause, resume, trigger, redeliver, preview), which go through
// internal/ruleops as the CLI's do.
//
// It answers loopback only, or a session cookie got by logging in with an
// API key; every POST passes net/http's cross-origin protection.
package console

import (
	"context"
	"crypto/rand"
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/ruleops"
	"github.com/runhook/runhook/internal/schedules"
)

// Prefix is the path the console is served under.
const Prefix = "/console"

// RuleReader reads the stored rules.
type RuleReader interface {
	Rules(ctx context.Context) ([]clickhouse.StoredRule, error)
	Rule(ctx context.Context, id uuid.UUID) (clickhouse.StoredRule, bool, error)
}

// PauseReader reads a rule's latest pause or resume.
type PauseReader interface {
	LatestPause(ctx context.Context, ruleID uuid.UUID) (clickhouse.Pause, bool, error)
}

// OutcomeReader reads what delivering runs came to.
type OutcomeReader interface {
	LastOutcome(ctx context.Context, ruleID uuid.UUID) (clickhouse.Outcome, bool, error)
	ConsecutiveFailedDeliveries(ctx context.Context, ruleID uuid.UUID, since time.Time, atMost int) (int, error)
	Outcomes(ctx context.Context, ruleID uuid.UUID, runIDs []uuid.UUID) ([]clickhouse.Outcome, error)
}

// LogReader reads a rule's log and the attempts of its deliveries.
type LogReader interface {
	RuleLog(ctx context.Context, ruleID uuid.UUID, limit int) ([]clickhouse.LogEntry, error)
	RuleLogOfRun(ctx context.Context, ruleID, runID uuid.UUID, limit int) ([]clickhouse.LogEntry, error)
	AttemptsSince(ctx context.Context, ruleID uuid.UUID, since time.Time, deliveryID string) ([]clickhouse.Attempt, error)
}

// RunWebhookReader reads the webhooks runs were created with.
type RunWebhookReader interface {
	RunWebhooks(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]clickhouse.RunWebhook, error)
}

// Store is what the console reads, and what the rule actions record
// (*clickhouse.Store).
type Store interface {
	RuleReader
	PauseReader
	OutcomeReader
	LogReader
	RunWebhookReader
	ruleops.PauseRecorder
	ruleops.FailedRuns
	ruleops.PreviewStore
}

// Schedules reads and changes rules' schedules (schedules.Manager).
type Schedules interface {
	Get(ctx context.Context, rule uuid.UUID) (schedules.State, error)
	ruleops.SchedulePauser
	ruleops.ScheduleResumer
	ruleops.ScheduleTrigger
}

// Options configure New.
type Options struct {
	Store Store
	// Schedules is nil when the server has no Temporal client: schedules
	// then show as unknown and pause, resume and trigger are refused.
	Schedules Schedules
	// Redeliveries starts redeliveries; nil refuses them.
	Redeliveries ruleops.Starter
	// TemporalUI and Namespace make the links to ticks and deliveries.
	TemporalUI, Namespace string
	// KeyHashes are the API keys ("sha256:<hex>", api.key_hashes) that log
	// in from beyond loopback; none: the console answers loopback only.
	KeyHashes []string
	// SessionKey signs session cookies; nil: a random key per process, so
	// a restart logs everyone out.
	SessionKey []byte
	// Preview is the settle lag and recent span previews match with
	// (rules.settle_lag, rules.recent).
	Preview ruleops.PreviewOptions
	// StreakLimit is how far a failure streak is counted
	// (delivery.pause_after_failures); 0 counts up to 100.
	StreakLimit int
	Logger      *slog.Logger
	Now         func() time.Time
}

//go:embed templates/*.html
var templateFS embed.FS

// Console serves the pages and actions.
type Console struct {
	opts   Options
	hashes [][]byte
	pages  map[string]*template.Template
	mux    *http.ServeMux
}

// New builds the console. Its handler serves paths under Prefix.
func New(opts Options) (*Console, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.StreakLimit <= 0 {
		opts.StreakLimit = 100
	}
	if len(opts.SessionKey) == 0 {
		opts.SessionKey = make([]byte, 32)
		_, _ = rand.Read(opts.SessionKey) // never fails (crypto/rand)
	}
	hashes, err := parseKeyHashes(opts.KeyHashes)
	if err != nil {
		return nil, err
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	c := &Console{opts: opts, hashes: hashes, pages: pages, mux: http.NewServeMux()}
	c.routes()
	return c, nil
}

func (c *Console) routes() {
	m := c.mux
	m.HandleFunc("GET "+Prefix, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix+"/", http.StatusFound)
	})
	m.HandleFunc("GET "+Prefix+"/login", c.loginPage)
	m.HandleFunc("POST "+Prefix+"/login", c.login)
	m.HandleFunc("POST "+Prefix+"/logout", c.logout)
	m.Handle("GET "+Prefix+"/{$}", c.authed(c.rulesPage))
	m.Handle("GET "+Prefix+"/rules/{id}", c.authed(c.rulePage))
	m.Handle("GET "+Prefix+"/rules/{id}/preview", c.authed(c.previewPage))
	m.Handle("POST "+Prefix+"/rules/{id}/{action}", c.authed(c.ruleAction))
	m.Handle("GET "+Prefix+"/run-webhooks", c.authed(c.runWebhooksPage))
	m.Handle("GET "+Prefix+"/runs", c.authed(c.findRun))
	m.Handle("GET "+Prefix+"/runs/{id}", c.authed(c.runPage))
}

// Handler is the console behind cross-origin protection: a POST that a
// browser marks as coming from another site is refused, whatever its cookie.
func (c *Console) Handler() http.Handler {
	return http.NewCrossOriginProtection().Handler(securityHeaders(c.mux))
}

// securityHeaders keep the pages out of frames and their scripts to the
// console's own.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}
