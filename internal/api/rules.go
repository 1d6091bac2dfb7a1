package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/ruleops"
	"github.com/runhook/runhook/internal/rules"
	"github.com/runhook/runhook/internal/ruleservice"
	"github.com/runhook/runhook/internal/rulesync"
)

// The rules API: the operations of `starter rules` over HTTP, through the
// same ruleservice.Service. A rule in a path is its id or its name. Secrets
// are write-only: a rule is shown as its stored spec, whose webhook URLs
// are redacted and which holds no header or signing secret.

func (h *handler) routeRules(mux *http.ServeMux) {
	mux.Handle("GET /rules", h.auth(h.listRules))
	mux.Handle("PUT /rules", h.auth(h.applyRules))
	mux.Handle("POST /rules/preview", h.auth(h.previewFile))
	mux.Handle("GET /rules/{rule}", h.auth(h.withRule(h.getRule)))
	mux.Handle("DELETE /rules/{rule}", h.auth(h.withRule(h.deleteRule)))
	mux.Handle("POST /rules/{rule}/pause", h.auth(h.withRule(h.pauseRule(true))))
	mux.Handle("POST /rules/{rule}/resume", h.auth(h.withRule(h.pauseRule(false))))
	mux.Handle("POST /rules/{rule}/trigger", h.auth(h.withRule(h.triggerRule)))
	mux.Handle("POST /rules/{rule}/backfill", h.auth(h.withRule(h.backfillRule)))
	mux.Handle("POST /rules/{rule}/test", h.auth(h.withRule(h.testRule)))
	mux.Handle("POST /rules/{rule}/redeliver", h.auth(h.withRule(h.redeliverRule)))
	mux.Handle("GET /rules/{rule}/logs", h.auth(h.withRule(h.ruleLogs)))
	mux.Handle("GET /rules/{rule}/preview", h.auth(h.withRule(h.previewRule)))
}

// rulesError answers for an error of the rules' operations: 503 when the
// server lacks Temporal or secrets.key, 404 for a rule that is not there,
// 422 naming each problem of a refused file, else 500.
func rulesError(what string, err error) *apiError {
	var nf *ruleservice.NotFoundError
	switch {
	case errors.Is(err, ruleservice.ErrNoTemporal), errors.Is(err, ruleservice.ErrNoSecrets):
		return &apiError{status: http.StatusServiceUnavailable, msg: "rules API unavailable: " + err.Error()}
	case errors.As(err, &nf):
		return &apiError{status: http.StatusNotFound, msg: nf.Error(), field: "rule"}
	}
	return internal(what, err)
}

// refused is the 422 of a rules file with problems: its message is the
// CLI's, and each problem names the rule and field (rules[1].webhooks[0].url).
func refused(data []byte, err error) *apiError {
	e := &apiError{status: http.StatusUnprocessableEntity, msg: "rules file refused, nothing changed:\n" + err.Error(),
		problems: ruleservice.Problems(data, err)}
	if len(e.problems) > 0 {
		e.field = e.problems[0].Field
	}
	return e
}

func (h *handler) withRule(fn func(w http.ResponseWriter, r *http.Request, rule clickhouse.StoredRule) *apiError) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) *apiError {
		if h.rules == nil {
			return &apiError{status: http.StatusServiceUnavailable, msg: "the rules API is not configured on this server"}
		}
		rule, err := h.rules.Find(r.Context(), r.PathValue("rule"))
		if err != nil {
			return rulesError("find rule", err)
		}
		return fn(w, r, rule)
	}
}

// ruleJSON is a rule as listed: its stored spec, secrets redacted, and its state.
type ruleJSON struct {
	rules.Spec
	State string `json:"state"`
}

func (h *handler) listRules(w http.ResponseWriter, r *http.Request) *apiError {
	if h.rules == nil {
		return &apiError{status: http.StatusServiceUnavailable, msg: "the rules API is not configured on this server"}
	}
	all, err := h.rules.List(r.Context())
	if err != nil {
		return rulesError("list rules", err)
	}
	out := make([]ruleJSON, len(all))
	for i, s := range all {
		out[i] = ruleJSON{Spec: s.Spec, State: s.State}
	}
	writeJSON(w, http.StatusOK, map[string]any{"rules": out})
	return nil
}

func (h *handler) getRule(w http.ResponseWriter, r *http.Request, rule clickhouse.StoredRule) *apiError {
	d, err := h.rules.Get(r.Context(), rule)
	if err != nil {
		return rulesError("get rule", err)
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// planJSON is a plan as `starter rules apply` prints it: the changes and
// their counts.
type planJSON struct {
	DryRun  bool              `json:"dry_run"`
	Applied bool              `json:"applied"`
	Plan    []rulesync.Change `json:"plan"`
	Counts  map[string]int    `json:"counts"`
	// Retention is what applying did to the hourly retention schedule.
	Retention string `json:"retention,omitempty"`
}

func queryBool(r *http.Request, name string) (bool, *apiError) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, invalid(name, "%q is not true or false", v)
	}
	return b, nil
}

// applyRules is PUT /rules: the body is a rules file (YAML, or JSON of the
// same shape). ${VAR} is not substituted, as the server's environment is
// not the client's; ?dry_run=true answers the plan only, ?prune=true
// deletes the stored rules the file lacks.
func (h *handler) applyRules(w http.ResponseWriter, r *http.Request) *apiError {
	if h.rules == nil {
		return &apiError{status: http.StatusServiceUnavailable, msg: "the rules API is not configured on this server"}
	}
	dryRun, e := queryBool(r, "dry_run")
	if e != nil {
		return e
	}
	prune, e := queryBool(r, "prune")
	if e != nil {
		return e
	}
	data, e := h.readBody(w, r)
	if e != nil {
		return e
	}
	desired, err := h.rules.Parse(data, nil)
	if err != nil {
		return refused(data, err)
	}
	plan, err := h.rules.Plan(r.Context(), desired, prune)
	if err != nil {
		return rulesError("plan rules", err)
	}
	c := rulesync.Count(plan)
	counts := map[string]int{"create": c[rulesync.Create], "update": c[rulesync.Update], "unchanged": c[rulesync.Unchanged], "delete": c[rulesync.Delete]}
	out := planJSON{DryRun: dryRun, Plan: plan, Counts: counts}
	if out.Plan == nil {
		out.Plan = []rulesync.Change{}
	}
	if !dryRun {
		if out.Retention, err = h.rules.Apply(r.Context(), plan); err != nil {
			return rulesError("apply rules", err)
		}
		out.Applied = true
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) deleteRule(w http.ResponseWriter, r *http.Request, rule clickhouse.StoredRule) *apiError {
	if err := h.rules.Delete(r.Context(), rule); err != nil {
		return rulesError("delete rule", err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": rule.ID, "name": rule.Name, "deleted": true})
	return nil
}

// readOptional reads an optional JSON object body into v; an empty body leaves v.
func (h *handler) readOptional(w http.ResponseWriter, r *http.Request, v any) *apiError {
	data, e := h.readBody(w, r)
	if e != nil {
		return e
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return badRequest("", "body is not the JSON object expected: %v", err)
	}
	return nil
}

func (h *handler) pauseRule(pause bool) func(w http.ResponseWriter, r *http.Request, rule clickhouse.StoredRule) *apiError {
	verb, state := "resume", "resumed"
	if pause {
		verb, state = "pause", "paused"
	}
	return func(w http.ResponseWriter, r *http.Request, rule clickhouse.StoredRule) *apiError {
		var body struct {
			Reason string `json:"reason"`
		}
		if e := h.readOptional(w, r, &body); e != nil {
			return e
		}
		why := state + " with the rules API"
		if body.Reason != "" {
			why += ": " + body.Reason
		}
		var err error
		if pause {
			err = h.rules.Pause(r.Context(), rule, why, h.now())
		} else {
			err = h.rules.Resume(r.Context(), rule, why, h.now())
		}
		if err != nil {
			return rulesError(verb+" rule", err)
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": rule.ID, "name": rule.Name, "state": state, "reason": why})
		return nil
	}
}

func (h *handler) triggerRule(w http.ResponseWriter, r *http.Request, rule clickhouse.StoredRule) *apiError {
	if err := h.rules.Trigger(r.Context(), rule); err != nil {
		return rulesError("trigger rule", err)
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"id": rule.ID, "name": rule.Name, "tick": "requested"})
	return nil
}

// backfillRule is POST /rules/{rule}/backfill with {"from": T, "to": T},
// each an RFC 3339 time or a duration before now ("-2h"), as the CLI's flags.
func (h *handler) backfillRule(w http.ResponseWriter, r *http.Request, rule clickhouse.StoredRule) *apiError {
	var body struct {
		From string `json:"from"`
		To   string `json:"to"`
	}
	if e := h.readOptional(w, r, &body); e != nil {
		return e
	}
	now := h.now().UTC()
	from, err := ruleservice.ParseWhen(body.From, now)
	if err != nil {
		return invalid("from", "%v", err)
	}
	to, err := ruleservice.ParseWhen(body.To, now)
	if err != nil {
		return invalid("to", "%v", err)
	}
	if err := ruleops.CheckWindow(from, to, now, h.rules.Arrivals); err != nil {
		return invalid("from", "%v", err)
	}
	b, err := h.rules.Backfill(r.Context(), rule, from, to, now)
	if err != nil {
		return rulesError("backfill rule", err)
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"id": rule.ID, "name": rule.Name, "backfill": b.ID,
		"from": from.Format(time.RFC3339), "to": to.Format(time.RFC3339)})
	return nil
}

// redeliverRule is POST /rules/{rule}/redeliver with {"failed": true} and an
// optional "limit" of (run, webhook) pairs (10000), as `starter rules
// redeliver --failed`: 202 with a workflow per webhook, or 200 with none when
// nothing failed.
func (h *handler) redeliverRule(w http.ResponseWriter, r *http.Request, rule clickhouse.StoredRule) *apiError {
	body := struct {
		Failed bool `json:"failed"`
		Limit  int  `json:"limit"`
	}{Limit: 10000}
	if e := h.readOptional(w, r, &body); e != nil {
		return e
	}
	if !body.Failed {
		return invalid("failed", "say which runs to send again: {\"failed\": true}")
	}
	if body.Limit < 1 || body.Limit > 100000 {
		return invalid("limit", "%d is not a number from 1 to 100000", body.Limit)
	}
	started, err := h.rules.Redeliver(r.Context(), rule, body.Limit, h.now().UTC())
	type redelivery struct {
		Webhook    uint16 `json:"webhook"`
		Runs       int    `json:"runs"`
		WorkflowID string `json:"workflow_id"`
	}
	out := []redelivery{}
	for _, d := range started {
		out = append(out, redelivery{Webhook: d.Webhook, Runs: len(d.RunIDs), WorkflowID: d.WorkflowID})
	}
	if err != nil && len(started) == 0 {
		return rulesError("redeliver", err)
	}
	answer := map[string]any{"id": rule.ID, "name": rule.Name, "redeliveries": out}
	status := http.StatusOK
	switch {
	case err != nil:
		// Some started: say which, and what stopped the rest.
		h.logger.Error("redeliver", "rule_id", rule.ID, "error", err)
		answer["error"] = "not every webhook's redelivery started; see the server's log"
		status = http.StatusInternalServerError
	case len(out) > 0:
		status = http.StatusAccepted
	}
	writeJSON(w, status, answer)
	return nil
}

// logJSON is one entry of a rule's log.
type logJSON struct {
	At      time.Time `json:"at"`
	RunID   uuid.UUID `json:"run_id"`
	Event   string    `json:"event"`
	Webhook *int      `json:"webhook,omitempty"`
	Where   string    `json:"where"`
	Reason  string    `json:"reason,omitempty"`
}

// ruleLogs is GET /rules/{rule}/logs?limit=N&run=ID: the newest N entries
// (200 by default), newest first; run reads only that run's, however old.
func (h *handler) ruleLogs(w http.ResponseWriter, r *http.Request, rule clickhouse.StoredRule) *apiError {
	limit := 200
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100000 {
			return invalid("limit", "%q is not a number from 1 to 100000", v)
		}
		limit = n
	}
	var run uuid.UUID
	if v := r.URL.Query().Get("run"); v != "" {
		var err error
		if run, err = uuid.Parse(v); err != nil {
			return invalid("run", "%q is not a UUID", v)
		}
	}
	entries, err := h.rules.Logs(r.Context(), rule, limit, run)
	if err != nil {
		return rulesError("read rule log", err)
	}
	out := make([]logJSON, len(entries))
	for i, e := range entries {
		out[i] = logJSON{At: e.At, RunID: e.RunID, Event: e.Event, Where: e.Where, Reason: e.Reason}
		if e.Webhook >= 0 {
			n := e.Webhook
			out[i].Webhook = &n
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": rule.ID, "name": rule.Name, "entries": out})
	return nil
}

func previewOptions(r *http.Request) (ruleops.PreviewOptions, *apiError) {
	opts := ruleops.PreviewOptions{Since: time.Hour, Limit: 20}
	q := r.URL.Query()
	if v := q.Get("since"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return opts, invalid("since", "%q is not a positive duration like 1h", v)
		}
		opts.Since = d
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 10000 {
			return opts, invalid("limit", "%q is not a number from 0 to 10000", v)
		}
		opts.Limit = n
	}
	return opts, nil
}

// pickJSON is one run a preview picks.
type pickJSON struct {
	ID         uuid.UUID `json:"id"`
	Name       string    `json:"name"`
	StartTime  time.Time `json:"start_time"`
	InsertedAt time.Time `json:"inserted_at"`
	Claimed    bool      `json:"claimed"`
	Waiting    bool      `json:"waiting"`
}

func (h *handler) preview(w http.ResponseWriter, r *http.Request, spec rules.Spec) *apiError {
	opts, e := previewOptions(r)
	if e != nil {
		return e
	}
	p, used, err := h.rules.Preview(r.Context(), spec, opts)
	if err != nil {
		return rulesError("preview rule", err)
	}
	picked := make([]pickJSON, len(p.Runs))
	for i, run := range p.Runs {
		picked[i] = pickJSON{ID: run.ID, Name: run.Name, StartTime: run.StartTime, InsertedAt: run.InsertedAt, Claimed: run.Claimed, Waiting: run.Waiting}
	}
	counts := map[string]int{"filtered": p.Filtered, "traced": p.Traced, "sampled": p.Sampled, "unclaimed": p.Unclaimed}
	if len(spec.Feedback.Require) > 0 {
		counts["feedback_ready"], counts["feedback_waiting"] = p.Ready, p.Waiting
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"rule":   spec,
		"window": map[string]any{"after": p.Window.After, "up_to": p.Window.UpTo, "since": used.Since.String(), "settle_lag": used.SettleLag.String()},
		"counts": counts, "runs": picked,
		"note": "preview only: nothing was claimed, recorded or sent",
	})
	return nil
}

func (h *handler) previewRule(w http.ResponseWriter, r *http.Request, rule clickhouse.StoredRule) *apiError {
	spec, err := ruleservice.Spec(rule)
	if err != nil {
		return internal("read rule", err)
	}
	return h.preview(w, r, spec)
}

// previewFile is POST /rules/preview?rule=NAME: a rule of the rules file in
// the body, not yet applied.
func (h *handler) previewFile(w http.ResponseWriter, r *http.Request) *apiError {
	if h.rules == nil {
		return &apiError{status: http.StatusServiceUnavailable, msg: "the rules API is not configured on this server"}
	}
	name := r.URL.Query().Get("rule")
	if name == "" {
		return invalid("rule", "say which rule of the file to preview: ?rule=NAME")
	}
	data, e := h.readBody(w, r)
	if e != nil {
		return e
	}
	desired, err := h.rules.Parse(data, nil)
	if err != nil {
		return refused(data, err)
	}
	i := slices.IndexFunc(desired, func(r rules.Rule) bool { return r.Name == name })
	if i < 0 {
		return invalid("rule", "the file has no rule named %q", name)
	}
	return h.preview(w, r, desired[i].Spec())
}

// testJSON is what one webhook answered a test delivery, URL redacted.
type testJSON struct {
	Webhook    uint16  `json:"webhook"`
	URL        string  `json:"url"`
	MessageID  string  `json:"message_id"`
	Result     string  `json:"result"`
	StatusCode int     `json:"status_code,omitempty"`
	Seconds    float64 `json:"seconds"`
	Error      string  `json:"error,omitempty"`
	Delivered  bool    `json:"delivered"`
}

// testRule is POST /rules/{rule}/test: a test delivery to each webhook of
// the rule, as `starter rules test`. It answers 200 with each webhook's
// result, whether the receivers accepted it or not.
func (h *handler) testRule(w http.ResponseWriter, r *http.Request, rule clickhouse.StoredRule) *apiError {
	spec, err := ruleservice.Spec(rule)
	if err != nil {
		return internal("read rule", err)
	}
	run, results, err := h.rules.Test(r.Context(), spec, h.now().UTC())
	if err != nil {
		return rulesError("test rule", err)
	}
	if len(results) == 0 {
		return invalid("rule", "rule %q has no webhooks: nothing sent", rule.Name)
	}
	out := make([]testJSON, len(results))
	for i, res := range results {
		out[i] = testJSON{Webhook: res.Webhook, URL: res.URL, MessageID: res.MessageID, Result: string(res.Class),
			StatusCode: res.StatusCode, Seconds: res.Took().Seconds(), Error: res.Err, Delivered: res.Sent()}
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": rule.ID, "name": rule.Name, "example_run": run,
		"header": fmt.Sprintf("%s: true", ruleops.TestHeader), "results": out})
	return nil
}
