// Package inbox is a local webhook receiver for trying rules: it checks the
// URL secret and the Standard Webhooks signature the way a real receiver
// would, keeps the last deliveries in memory, prints one line per delivery,
// shows them on a page, and can answer with chosen failures so the delivery
// rules (retries, the 5 s timeout) can be watched live.
package inbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/runhook/runhook/internal/signing"
)

// Defaults for Options left zero.
const (
	DefaultKeep      = 100
	DefaultMaxBody   = 1 << 20
	DefaultTolerance = 5 * time.Minute
	// attemptsTracked bounds the per-webhook-id attempt counts so a long
	// session does not grow without limit; forgetting an old id only means
	// a very late retry of it counts as a first attempt again.
	attemptsTracked = 10000
)

// Verdicts recorded for the URL secret and the signature. An empty verdict
// means the check is not configured.
const (
	VerdictOK      = "ok"
	VerdictMissing = "missing"
	VerdictWrong   = "wrong"
	VerdictBad     = "bad"
	VerdictExpired = "expired"
	VerdictAbsent  = "absent"
)

// Options configure a Handler.
type Options struct {
	// Secret is the expected ?secret= query parameter; empty accepts any.
	Secret string
	// SigningKey is the decoded whsec_ key (signing.ParseSecret); nil
	// skips signature verification.
	SigningKey []byte
	// Tolerance is how far webhook-timestamp may be from now (default 5m).
	Tolerance time.Duration
	// Fail is the status to answer accepted deliveries with; 0 answers 204.
	Fail int
	// FailFirst, when positive, fails only the first FailFirst requests of
	// each webhook-id (with Fail, or 500 when Fail is 0), so the retries
	// that follow succeed.
	FailFirst int
	// Delay is slept before answering.
	Delay time.Duration
	// Keep is how many deliveries are kept (default 100).
	Keep int
	// MaxBody is the largest body accepted (default 1 MiB); larger is 413.
	MaxBody int64
	// Out receives one summary line per delivery; nil discards them.
	Out io.Writer
	// Now is the clock (default time.Now); tests fix it.
	Now func() time.Time
}

// Delivery is one request received on the webhook path.
type Delivery struct {
	Seq          int       `json:"seq"`
	Received     time.Time `json:"received"`
	Path         string    `json:"path"`
	WebhookID    string    `json:"webhook_id"`
	Attempt      int       `json:"attempt"`
	RuleID       string    `json:"rule_id"`
	StartTime    string    `json:"start_time"`
	EndTime      string    `json:"end_time"`
	RunCount     int       `json:"run_count"`
	RunIDs       []string  `json:"run_ids"`
	FeedbackKeys []string  `json:"feedback_keys"`
	// CompletedRun describes a run-completion webhook's run (name and
	// status); empty for rule payloads.
	CompletedRun string `json:"completed_run,omitempty"`
	Secret       string `json:"secret,omitempty"`
	Signature    string `json:"signature,omitempty"`
	Status       int    `json:"status"`
	Note         string `json:"note,omitempty"`
	Size         int64  `json:"size"`
	// Body is the raw body as received, kept as a string so that a body
	// that is not JSON still round-trips through /deliveries.json.
	Body string `json:"body"`
}

// Handler receives webhooks on any path by POST and serves the page (GET /)
// and /deliveries.json.
type Handler struct {
	opt Options

	mu       sync.Mutex
	ring     []Delivery // oldest first once full; next is where the next one goes
	next     int
	full     bool
	seq      int
	attempts map[string]int
	order    []string // webhook-ids in first-seen order, for evicting attempts
	outMu    sync.Mutex
}

// New returns a Handler with opt's zero values replaced by the defaults.
func New(opt Options) *Handler {
	if opt.Keep <= 0 {
		opt.Keep = DefaultKeep
	}
	if opt.MaxBody <= 0 {
		opt.MaxBody = DefaultMaxBody
	}
	if opt.Tolerance <= 0 {
		opt.Tolerance = DefaultTolerance
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Out == nil {
		opt.Out = io.Discard
	}
	return &Handler{opt: opt, ring: make([]Delivery, opt.Keep), attempts: map[string]int{}}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost:
		h.receive(w, r)
	case (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.URL.Path == "/":
		h.page(w, r)
	case (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.URL.Path == "/deliveries.json":
		h.list(w)
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		http.NotFound(w, r)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (h *Handler) receive(w http.ResponseWriter, r *http.Request) {
	d := Delivery{
		Received:  h.opt.Now(),
		Path:      r.URL.Path, // never the query: it holds the secret
		WebhookID: r.Header.Get(signing.HeaderID),
	}
	d.Attempt = h.countAttempt(d.WebhookID)

	body, err := io.ReadAll(io.LimitReader(r.Body, h.opt.MaxBody+1))
	d.Size = int64(len(body))
	switch {
	case err != nil:
		d.Status, d.Note = http.StatusBadRequest, "reading body: "+err.Error()
		h.answer(w, r, d, false)
		return
	case d.Size > h.opt.MaxBody:
		d.Size = r.ContentLength // -1 when chunked: it is only shown
		d.Status, d.Note = http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes, not kept", h.opt.MaxBody)
		h.answer(w, r, d, false)
		return
	}
	d.Body = string(body)
	h.parse(&d, body)

	d.Secret = h.checkSecret(r)
	d.Signature = h.checkSignature(r, body, d.Received)
	if d.Secret == VerdictMissing || d.Secret == VerdictWrong ||
		d.Signature == VerdictBad || d.Signature == VerdictExpired || (h.opt.SigningKey != nil && d.Signature == VerdictAbsent) {
		d.Status = http.StatusUnauthorized
		h.answer(w, r, d, false)
		return
	}
	d.Status = h.chosenStatus(d.Attempt)
	h.answer(w, r, d, true)
}

// answer waits the configured delay (only for accepted deliveries: a
// rejection should be seen at once), records d and writes the status.
func (h *Handler) answer(w http.ResponseWriter, r *http.Request, d Delivery, delay bool) {
	if delay && h.opt.Delay > 0 {
		t := time.NewTimer(h.opt.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			// Recorded so that the sender's timeout rule is visible.
			gone := "sender gone before the answer"
			if errors.Is(context.Cause(r.Context()), errStopping) {
				gone = "inbox stopped before the answer"
			}
			d.Note = strings.TrimSpace(d.Note + " " + gone)
			h.record(d)
			// Returning would answer 200; dropping the connection is what a
			// receiver going down does, and the sender retries it.
			panic(http.ErrAbortHandler)
		}
	}
	h.record(d)
	if d.Status == http.StatusNoContent {
		w.WriteHeader(d.Status)
		return
	}
	http.Error(w, http.StatusText(d.Status), d.Status)
}

func (h *Handler) chosenStatus(attempt int) int {
	fail := h.opt.Fail
	if h.opt.FailFirst > 0 {
		if attempt > h.opt.FailFirst {
			return http.StatusNoContent
		}
		if fail == 0 {
			fail = http.StatusInternalServerError
		}
	}
	if fail == 0 {
		return http.StatusNoContent
	}
	return fail
}

func (h *Handler) countAttempt(id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, seen := h.attempts[id]; !seen {
		if len(h.order) >= attemptsTracked {
			delete(h.attempts, h.order[0])
			h.order = h.order[1:]
		}
		h.order = append(h.order, id)
	}
	h.attempts[id]++
	return h.attempts[id]
}

func (h *Handler) checkSecret(r *http.Request) string {
	if h.opt.Secret == "" {
		return ""
	}
	got, ok := r.URL.Query()["secret"]
	if !ok || len(got) == 0 || got[0] == "" {
		return VerdictMissing
	}
	if subtle.ConstantTimeCompare([]byte(got[0]), []byte(h.opt.Secret)) != 1 {
		return VerdictWrong
	}
	return VerdictOK
}

// checkSignature verifies the Standard Webhooks signature. The header may
// hold several space-separated "v1,<base64>" values (key rotation); any
// matching one is enough.
func (h *Handler) checkSignature(r *http.Request, body []byte, now time.Time) string {
	if h.opt.SigningKey == nil {
		return ""
	}
	id, ts, sigs := r.Header.Get(signing.HeaderID), r.Header.Get(signing.HeaderTimestamp), r.Header.Get(signing.HeaderSignature)
	if sigs == "" {
		return VerdictAbsent
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || id == "" {
		return VerdictBad
	}
	at := time.Unix(sec, 0)
	if d := now.Sub(at); d > h.opt.Tolerance || d < -h.opt.Tolerance {
		return VerdictExpired
	}
	want := []byte(signing.Signature(h.opt.SigningKey, id, at, body))
	for _, s := range strings.Fields(sigs) {
		if hmac.Equal([]byte(s), want) {
			return VerdictOK
		}
	}
	return VerdictBad
}

// payload is the part of LangSmith's webhook body the summary needs.
type payload struct {
	RuleID        string                     `json:"rule_id"`
	StartTime     string                     `json:"start_time"`
	EndTime       string                     `json:"end_time"`
	Runs          []run                      `json:"runs"`
	FeedbackStats map[string]json.RawMessage `json:"feedback_stats"`
	// A run-completion webhook's body is the run itself.
	ID      string `json:"id"`
	Name    string `json:"name"`
	Status  string `json:"status"`
	RunType string `json:"run_type"`
}

type run struct {
	ID            string                     `json:"id"`
	FeedbackStats map[string]json.RawMessage `json:"feedback_stats"`
}

// parse fills the summary fields. A body that is not a LangSmith payload is
// still accepted and shown: the inbox is for looking, not for judging.
func (h *Handler) parse(d *Delivery, body []byte) {
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		d.Note = "not a LangSmith payload: " + err.Error()
		return
	}
	if p.RuleID == "" && p.Runs == nil && p.ID != "" && p.RunType != "" {
		d.RunIDs, d.RunCount = []string{p.ID}, 1
		d.CompletedRun = fmt.Sprintf("%s %q %s", p.RunType, p.Name, p.Status)
		return
	}
	d.RuleID, d.StartTime, d.EndTime, d.RunCount = p.RuleID, p.StartTime, p.EndTime, len(p.Runs)
	keys := map[string]bool{}
	for k := range p.FeedbackStats {
		keys[k] = true
	}
	for _, r := range p.Runs {
		d.RunIDs = append(d.RunIDs, r.ID)
		for k := range r.FeedbackStats {
			keys[k] = true
		}
	}
	for k := range keys {
		d.FeedbackKeys = append(d.FeedbackKeys, k)
	}
	sort.Strings(d.FeedbackKeys)
}

func (h *Handler) record(d Delivery) {
	h.mu.Lock()
	h.seq++
	d.Seq = h.seq
	h.ring[h.next] = d
	h.next = (h.next + 1) % len(h.ring)
	if h.next == 0 {
		h.full = true
	}
	h.mu.Unlock()

	// Lines from concurrent requests must not interleave.
	h.outMu.Lock()
	defer h.outMu.Unlock()
	fmt.Fprintln(h.opt.Out, Summary(d))
}

// Received counts every delivery since the start, kept or not.
func (h *Handler) Received() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seq
}

// Deliveries returns the kept deliveries, newest first.
func (h *Handler) Deliveries() []Delivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.next
	if h.full {
		n = len(h.ring)
	}
	out := make([]Delivery, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, h.ring[(h.next-i+len(h.ring))%len(h.ring)])
	}
	return out
}

// Summary is the one-line form of d printed per delivery, e.g.
//
//	12:01:02 rule 6f1c0a2b… window 12:00:55–12:01:00  3 runs  feedback: answer_usefulness  secret ok  signature ok  → 204
//
// It holds no secret: the query string is never kept.
func Summary(d Delivery) string {
	loc := d.Received.Location()
	var b strings.Builder
	b.WriteString(d.Received.Format("15:04:05"))
	if d.RuleID != "" {
		fmt.Fprintf(&b, " rule %s", short(d.RuleID))
	}
	if d.StartTime != "" || d.EndTime != "" {
		fmt.Fprintf(&b, " window %s–%s", clock(d.StartTime, loc), clock(d.EndTime, loc))
	}
	if d.CompletedRun != "" {
		fmt.Fprintf(&b, " run %s ended: %s", short(d.RunIDs[0]), d.CompletedRun)
	} else if d.RuleID != "" || d.RunCount > 0 {
		if d.RunCount == 1 {
			b.WriteString("  1 run")
		} else {
			fmt.Fprintf(&b, "  %d runs", d.RunCount)
		}
	}
	if len(d.FeedbackKeys) > 0 {
		fmt.Fprintf(&b, "  feedback: %s", strings.Join(d.FeedbackKeys, ", "))
	}
	if d.Attempt > 1 {
		fmt.Fprintf(&b, "  attempt %d", d.Attempt)
	}
	if d.Secret != "" {
		fmt.Fprintf(&b, "  secret %s", d.Secret)
	}
	if d.Signature != "" {
		fmt.Fprintf(&b, "  signature %s", d.Signature)
	}
	fmt.Fprintf(&b, "  → %d", d.Status)
	if d.Note != "" {
		fmt.Fprintf(&b, "  (%s)", d.Note)
	}
	return b.String()
}

func short(id string) string {
	if len(id) <= 8 {
		return id
	}
	return id[:8] + "…"
}

// clock shows a window bound as the time of day in the receiver's zone, so it
// lines up with the received time; a bound that does not parse is shown as is.
func clock(s string, loc *time.Location) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		if s == "" {
			return "?"
		}
		return s
	}
	return t.In(loc).Format("15:04:05")
}

func (h *Handler) list(w http.ResponseWriter) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	// Served as JSON with nosniff, so <, > and & need no escaping to be safe
	// and bodies stay readable.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(h.Deliveries()); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}
