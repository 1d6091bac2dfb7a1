// Package api is runhook's LangSmith-compatible HTTP API (bin/server): the
// endpoints the official LangSmith SDKs call to trace runs and give feedback
// (GET /info, POST /runs, PATCH /runs/{id}, POST /runs/batch,
// POST /runs/multipart, POST /feedback, GET /runs/{id}). Runs and feedback
// land in the ClickHouse tables the rules read. It also serves the rules
// API (GET /rules, PUT /rules, /rules/{rule}/...), the operations of
// `starter rules` as JSON.
package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/groupcommit"
	"github.com/runhook/runhook/internal/ruleservice"
	"github.com/runhook/runhook/internal/runhooks"
	"github.com/runhook/runhook/internal/runs"
)

// Store is what the API needs of ClickHouse (*clickhouse.Store).
type Store interface {
	InsertRuns(ctx context.Context, rs []runs.Run) error
	InsertFeedback(ctx context.Context, fs []runs.Feedback) error
	LatestRuns(ctx context.Context, ids []uuid.UUID) ([]runs.Run, error)
	// StoredRunIDs is the cheap check before LatestRuns: most writes are of new runs.
	StoredRunIDs(ctx context.Context, ids []uuid.UUID) ([]uuid.UUID, error)
	// InsertRunWrites and RunWrites are the log runs are folded from.
	InsertRunWrites(ctx context.Context, ws []runs.Write) error
	RunWrites(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]runs.Write, error)
}

// Webhooks registers run-completion webhooks (*runhooks.Hooks).
type Webhooks interface {
	// Check validates a webhook URL; a *runhooks.PolicyError is the client's fault.
	Check(rawURL string) error
	// Register is called before the runs that asked are written.
	Register(ctx context.Context, reqs []runhooks.Request) ([]runhooks.Registration, error)
	// Completed is called after runs with an end_time were written.
	Completed(ctx context.Context, runIDs []uuid.UUID) error
}

// NotConfigured is the reason given for a run's webhook when the server has no Webhooks.
const NotConfigured = "not registered: run-completion webhooks are not configured on this server"

// Options configure the handler.
type Options struct {
	Store Store
	// KeyHashes are the accepted x-api-key values as "sha256:<hex>" (api.key_hashes).
	KeyHashes []string
	// MaxBodyBytes caps a request body, compressed and decompressed alike (api.max_body_bytes).
	MaxBodyBytes int64
	// Webhooks handles runs created with a "webhook"; nil means not configured.
	Webhooks Webhooks
	// Presigned serves /presigned/ without api-key auth; nil answers 404.
	Presigned http.Handler
	// Rules serves the rules API (GET /rules, PUT /rules, ...); nil answers 503.
	Rules  *ruleservice.Service
	Logger *slog.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

type handler struct {
	store     Store
	hashes    [][]byte
	maxBody   int64
	webhooks  Webhooks
	logger    *slog.Logger
	now       func() time.Time
	presigned http.Handler
	rules     *ruleservice.Service
	// inserts shares ClickHouse inserts among concurrent requests: the
	// SDKs' batches of ~100 runs cost several times one insert of their union
	// (make bench: 2,156 runs/s in inserts of 100, 8 at a time, against 6,202
	// in inserts of 800).
	inserts *groupcommit.Writer[runs.Run]
	// writes shares the inserts of the log of run writes the same way.
	writes *groupcommit.Writer[runs.Write]
}

// DefaultMaxBodyBytes is used when Options.MaxBodyBytes is not positive.
const DefaultMaxBodyBytes = 64 << 20

// New builds the API's handler.
func New(opts Options) http.Handler {
	h := &handler{
		store:     opts.Store,
		maxBody:   opts.MaxBodyBytes,
		webhooks:  opts.Webhooks,
		logger:    opts.Logger,
		now:       opts.Now,
		presigned: opts.Presigned,
		rules:     opts.Rules,
	}
	h.inserts = groupcommit.New(func(ctx context.Context, rs []runs.Run) error { return h.store.InsertRuns(ctx, rs) },
		groupcommit.Options{MaxRows: 5000})
	h.writes = groupcommit.New(func(ctx context.Context, ws []runs.Write) error { return h.store.InsertRunWrites(ctx, ws) },
		groupcommit.Options{MaxRows: 5000})
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	for i, s := range opts.KeyHashes {
		hexPart, ok := strings.CutPrefix(s, "sha256:")
		b, err := hex.DecodeString(hexPart)
		if !ok || err != nil || len(b) != sha256.Size {
			// config.Load refuses these; a caller that skipped it gets no key from the entry.
			h.logger.Warn("api.key_hashes entry ignored: not sha256:<64 hex digits>", "index", i)
			continue
		}
		h.hashes = append(h.hashes, b)
	}
	if len(h.hashes) == 0 {
		h.logger.Warn("api.key_hashes is empty: every authenticated request will be refused (make a key with `starter apikey new`)")
	}
	if h.presigned == nil {
		h.presigned = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, &apiError{status: http.StatusNotFound, msg: "presigned URLs are not served by this server"})
		})
	}

	mux := http.NewServeMux()
	// The SDKs append paths to LANGSMITH_ENDPOINT as given; self-hosted
	// LangSmith is addressed as http://host/api/v1, so both forms are served.
	for _, prefix := range []string{"", "/api/v1"} {
		// /info is public, as on LangSmith: the SDKs read it to pick their
		// ingest path and limits, and it tells nothing about the data.
		mux.Handle("GET "+prefix+"/info", h.public(h.info))
		mux.Handle("POST "+prefix+"/runs", h.auth(h.createRun))
		mux.Handle("PATCH "+prefix+"/runs/{id}", h.auth(h.updateRun))
		mux.Handle("GET "+prefix+"/runs/{id}", h.auth(h.readRun))
		mux.Handle("POST "+prefix+"/runs/batch", h.auth(h.batch))
		mux.Handle("POST "+prefix+"/runs/multipart", h.auth(h.multipart))
		mux.Handle("POST "+prefix+"/feedback", h.auth(h.createFeedback))
	}
	h.routeRules(mux)
	// Presigned URLs are capabilities of their own: whoever holds one reads
	// that one document, without an API key.
	mux.Handle("/presigned/", h.logged(h.presigned))
	mux.Handle("/", h.public(func(w http.ResponseWriter, r *http.Request) *apiError {
		return &apiError{status: http.StatusNotFound, msg: "no such endpoint: " + r.Method + " " + r.URL.Path}
	}))
	return mux
}

// stats are what a request's log line counts; handlers fill them in.
type stats struct {
	runs, feedback, attachments int
	field, encoding             string
}

type statsKey struct{}

func requestStats(r *http.Request) *stats {
	if s, ok := r.Context().Value(statsKey{}).(*stats); ok {
		return s
	}
	return &stats{}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (the presigned handler may flush).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logged writes one line per request: never a body, a key or a query string.
func (h *handler) logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		st := &stats{}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), statsKey{}, st)))
		attrs := []any{
			"method", r.Method, "path", r.URL.Path, "status", sw.status,
			"duration_ms", float64(time.Since(start).Microseconds()) / 1000,
			"runs", st.runs, "feedback", st.feedback,
		}
		if st.attachments > 0 {
			attrs = append(attrs, "attachments_dropped", st.attachments)
		}
		if st.encoding != "" {
			attrs = append(attrs, "encoding", st.encoding)
		}
		if st.field != "" {
			attrs = append(attrs, "field", st.field)
		}
		level := slog.LevelInfo
		if sw.status >= 500 {
			level = slog.LevelError
		}
		h.logger.Log(r.Context(), level, "api request", attrs...)
	})
}

type handlerFunc func(w http.ResponseWriter, r *http.Request) *apiError

func (h *handler) serve(fn handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if e := fn(w, r); e != nil {
			requestStats(r).field = e.field
			if e.status >= 500 && e.cause != nil {
				h.logger.Error("api request failed", "method", r.Method, "path", r.URL.Path, "error", e.cause)
			}
			writeError(w, e)
		}
	}
}

func (h *handler) public(fn handlerFunc) http.Handler { return h.logged(h.serve(fn)) }

func (h *handler) auth(fn handlerFunc) http.Handler {
	return h.logged(h.serve(func(w http.ResponseWriter, r *http.Request) *apiError {
		key := r.Header.Get("x-api-key")
		if key == "" {
			return &apiError{status: http.StatusUnauthorized, msg: "missing x-api-key header"}
		}
		if !h.keyOK(key) {
			return &apiError{status: http.StatusUnauthorized, msg: "invalid x-api-key"}
		}
		return fn(w, r)
	}))
}

// keyOK compares the key's hash with every configured hash in constant time,
// without stopping at a match, so the time taken says nothing about the keys.
func (h *handler) keyOK(key string) bool {
	sum := sha256.Sum256([]byte(key))
	ok := 0
	for _, want := range h.hashes {
		ok |= subtle.ConstantTimeCompare(sum[:], want)
	}
	return ok == 1
}

// HashKey is the api.key_hashes entry for an API key.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}
