package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/rulelog"
	"github.com/runhook/runhook/internal/rules"
	"github.com/runhook/runhook/internal/schedules"
)

const (
	// logLimit is how many of a rule's newest log entries a page reads.
	logLimit = 1000
	// deliveryLimit is how many of the newest deliveries show their attempts.
	deliveryLimit = 20
)

func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"time": func(t time.Time) string {
			if t.IsZero() {
				return "-"
			}
			return t.UTC().Format("2006-01-02 15:04:05.000Z")
		},
		"ms":      func(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) },
		"logData": func(prefix string, v logView) logData { return logData{Prefix: prefix, logView: v} },
	}
	// Every page is the layout, the log partial and its own content.
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/log.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" || name == "log" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}

// render writes a page whole or not at all: a template error mid-page would
// otherwise leave half a page under a 200.
func (c *Console) render(w http.ResponseWriter, r *http.Request, page string, data map[string]any) {
	data["Prefix"] = Prefix
	data["Flash"] = r.URL.Query().Get("msg")
	var b bytes.Buffer
	if err := c.pages[page].ExecuteTemplate(&b, "layout.html", data); err != nil {
		c.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

// fail logs an error and answers 500 without it: store errors name hosts
// and queries, which are no business of a browser.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error) {
	c.opts.Logger.Error("console", "path", r.URL.Path, "error", err)
	http.Error(w, "internal error (see the server log)", http.StatusInternalServerError)
}

// ruleRow is a rule in the rules list.
type ruleRow struct {
	Rule        clickhouse.StoredRule
	Spec        rules.Spec
	State       string
	PauseReason string
	Last        *clickhouse.Outcome
	Streak      int
}

func (c *Console) state(ctx context.Context, id uuid.UUID) (state string, pause clickhouse.Pause, sched *schedules.State, err error) {
	p, found, err := c.opts.Store.LatestPause(ctx, id)
	if err != nil {
		return "", p, nil, err
	}
	if c.opts.Schedules != nil {
		st, err := c.opts.Schedules.Get(ctx, id)
		if err != nil {
			return "", p, nil, err
		}
		sched = &st
	}
	switch {
	case found && p.Paused:
		return "paused", p, sched, nil
	case sched != nil && !sched.Exists:
		return "unscheduled", p, sched, nil
	case sched != nil && sched.Paused:
		return "paused", p, sched, nil
	}
	return "active", p, sched, nil
}

// row reads a rule's state, last outcome and failure streak, and returns
// its schedule too (nil without Temporal), which the rule's page shows.
func (c *Console) row(ctx context.Context, r clickhouse.StoredRule) (ruleRow, *schedules.State, error) {
	row := ruleRow{Rule: r}
	var err error
	if row.Spec, err = rules.ParseSpec([]byte(r.Spec)); err != nil {
		return row, nil, fmt.Errorf("rule %s: %w", r.ID, err)
	}
	state, pause, sched, err := c.state(ctx, r.ID)
	if err != nil {
		return row, nil, err
	}
	row.State = state
	if pause.Paused {
		row.PauseReason = pause.Reason
	}
	last, found, err := c.opts.Store.LastOutcome(ctx, r.ID)
	if err != nil {
		return row, nil, err
	}
	if found {
		row.Last = &last
	}
	var since time.Time
	if !pause.Paused {
		since = pause.At // resumed: the streak starts again, as AutoPause counts it
	}
	row.Streak, err = c.opts.Store.ConsecutiveFailedDeliveries(ctx, r.ID, since, c.opts.StreakLimit)
	return row, sched, err
}

func (c *Console) rulesPage(w http.ResponseWriter, r *http.Request) {
	all, err := c.opts.Store.Rules(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	var rows []ruleRow
	for _, ru := range all {
		row, _, err := c.row(r.Context(), ru)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		rows = append(rows, row)
	}
	c.render(w, r, "rules", map[string]any{"Title": "Rules", "Rules": rows})
}

func (c *Console) ruleByPath(w http.ResponseWriter, r *http.Request) (clickhouse.StoredRule, bool) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		http.Error(w, "not a rule id", http.StatusBadRequest)
		return clickhouse.StoredRule{}, false
	}
	ru, found, err := c.opts.Store.Rule(r.Context(), id)
	if err != nil {
		c.fail(w, r, err)
		return ru, false
	}
	if !found {
		http.Error(w, "no such rule", http.StatusNotFound)
		return ru, false
	}
	return ru, true
}

// delivery is one delivery of a log and its attempts.
type delivery struct {
	ID       string // the webhook-id receivers deduplicate on
	Webhook  int
	Outcome  string
	Attempts []clickhouse.Attempt
	Workflow string // the Temporal UI link to the workflow that posted it
}

// logView is a rule's (or the run webhooks') log, filtered by a run id, and
// its newest deliveries.
type logView struct {
	Query      string
	Entries    []clickhouse.LogEntry
	Deliveries []delivery
}

// logData is what the log partial reads.
type logData struct {
	Prefix string
	logView
}

func (c *Console) logView(ctx context.Context, ruleID uuid.UUID, query string, workflowOf func(deliveryID string) string) (logView, error) {
	v := logView{Query: strings.TrimSpace(query)}
	q := strings.ToLower(v.Query)
	// A whole run id is read by key, however old; part of one searches the
	// newest entries.
	var (
		entries []clickhouse.LogEntry
		err     error
	)
	if run, perr := uuid.Parse(q); perr == nil {
		q = run.String()
		entries, err = c.opts.Store.RuleLogOfRun(ctx, ruleID, run, logLimit)
	} else {
		entries, err = c.opts.Store.RuleLog(ctx, ruleID, logLimit)
	}
	if err != nil {
		return v, err
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if q != "" && !strings.Contains(e.RunID.String(), q) {
			continue
		}
		v.Entries = append(v.Entries, e)
		if e.Webhook < 0 || seen[e.Where] || len(v.Deliveries) == deliveryLimit {
			continue
		}
		seen[e.Where] = true
		d := delivery{ID: e.Where, Webhook: e.Webhook, Outcome: e.Event, Workflow: c.workflowLink(workflowOf(e.Where))}
		if d.Attempts, err = c.opts.Store.AttemptsSince(ctx, ruleID, time.Time{}, e.Where); err != nil {
			return v, err
		}
		v.Deliveries = append(v.Deliveries, d)
	}
	return v, nil
}

// batchSuffix ends a delivery of one batch of a DeliverRuns to one webhook
// (workflows.BatchDeliveryID); the rest is the workflow's ID.
var batchSuffix = regexp.MustCompile(`/b\d+/w\d+$`)

// ruleDeliveryWorkflow is the workflow that made a rule's delivery: the
// DeliverRuns of a batch delivery, or the one a skip names.
func ruleDeliveryWorkflow(deliveryID string) string {
	return batchSuffix.ReplaceAllString(deliveryID, "")
}

// workflowLink lists the workflows of an ID in the Temporal UI: a search
// rather than one execution, as a delivery's run id is not recorded.
func (c *Console) workflowLink(workflowID string) string {
	if c.opts.TemporalUI == "" || workflowID == "" {
		return ""
	}
	return fmt.Sprintf("%s/namespaces/%s/workflows?query=%s", strings.TrimRight(c.opts.TemporalUI, "/"),
		url.PathEscape(c.opts.Namespace), url.QueryEscape(fmt.Sprintf("WorkflowId=%q", workflowID)))
}

func (c *Console) executionLink(e clientExecution) string {
	if c.opts.TemporalUI == "" {
		return ""
	}
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s/history", strings.TrimRight(c.opts.TemporalUI, "/"),
		url.PathEscape(c.opts.Namespace), url.PathEscape(e.WorkflowID), url.PathEscape(e.RunID))
}

// clientExecution is a started workflow (client.ScheduleWorkflowExecution).
type clientExecution struct{ WorkflowID, RunID string }

type tick struct {
	At   time.Time
	ID   string
	Link string
}

func (c *Console) rulePage(w http.ResponseWriter, r *http.Request) {
	ru, ok := c.ruleByPath(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	row, sched, err := c.row(ctx, ru)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	var ticks []tick
	if sched != nil {
		for i, t := range sched.Ticks {
			tk := tick{ID: t.WorkflowID, Link: c.executionLink(clientExecution{t.WorkflowID, t.FirstExecutionRunID})}
			if i < len(sched.Recent) {
				tk.At = sched.Recent[i]
			}
			ticks = append(ticks, tk)
		}
		slices.Reverse(ticks) // newest first
	}
	var spec bytes.Buffer
	if err := json.Indent(&spec, []byte(ru.Spec), "", "  "); err != nil {
		c.fail(w, r, err)
		return
	}
	lv, err := c.logView(ctx, ru.ID, r.URL.Query().Get("run"), ruleDeliveryWorkflow)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	var schedLink string
	if c.opts.TemporalUI != "" {
		schedLink = fmt.Sprintf("%s/namespaces/%s/schedules/%s", strings.TrimRight(c.opts.TemporalUI, "/"),
			url.PathEscape(c.opts.Namespace), url.PathEscape(schedules.ID(ru.ID)))
	}
	c.render(w, r, "rule", map[string]any{
		"Title": "Rule " + ru.Name, "Row": row, "SpecJSON": spec.String(), "Schedule": sched, "ScheduleLink": schedLink,
		"Ticks": ticks, "Log": lv, "Actions": c.opts.Schedules != nil, "Redeliver": c.opts.Redeliveries != nil,
	})
}

func (c *Console) runWebhooksPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	// A run webhook's delivery is an activity of the run's RunWebhooks
	// workflow, whose ID its stored webhook names.
	var ids []uuid.UUID
	entries, err := c.opts.Store.RuleLog(ctx, rulelog.RunWebhookRuleID(), logLimit)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	byDelivery := map[string]uuid.UUID{}
	for _, e := range entries {
		if _, ok := byDelivery[e.Where]; !ok {
			byDelivery[e.Where] = e.RunID
			ids = append(ids, e.RunID)
		}
	}
	hooks, err := c.opts.Store.RunWebhooks(ctx, ids)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	workflowOf := func(deliveryID string) string {
		if h, ok := hooks[byDelivery[deliveryID]]; ok && h.WorkflowID != "" {
			return h.WorkflowID
		}
		return strings.TrimSuffix(deliveryID, "/delivery") // a run's own RunWebhook workflow
	}
	lv, err := c.logView(ctx, rulelog.RunWebhookRuleID(), r.URL.Query().Get("run"), workflowOf)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, "runwebhooks", map[string]any{"Title": "Run webhooks", "Log": lv, "Hooks": hooks})
}

func (c *Console) findRun(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(strings.TrimSpace(r.URL.Query().Get("id")))
	if err != nil {
		http.Error(w, "not a run id", http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, Prefix+"/runs/"+id.String(), http.StatusSeeOther)
}

// runRule is what became of a run for one rule (or its own webhook).
type runRule struct {
	RuleID   uuid.UUID
	RuleName string
	Events   []clickhouse.LogEntry // before delivery: matched, waiting, timed out
	Outcomes []clickhouse.Outcome  // by webhook
}

func (c *Console) runPage(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		http.Error(w, "not a run id", http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	all, err := c.opts.Store.Rules(ctx)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	var found []runRule
	for _, ru := range all {
		rr := runRule{RuleID: ru.ID, RuleName: ru.Name}
		if rr.Outcomes, err = c.opts.Store.Outcomes(ctx, ru.ID, []uuid.UUID{id}); err != nil {
			c.fail(w, r, err)
			return
		}
		entries, err := c.opts.Store.RuleLogOfRun(ctx, ru.ID, id, logLimit)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		for _, e := range entries {
			if e.Webhook < 0 {
				rr.Events = append(rr.Events, e)
			}
		}
		if len(rr.Outcomes) > 0 || len(rr.Events) > 0 {
			found = append(found, rr)
		}
	}
	hooks, err := c.opts.Store.RunWebhooks(ctx, []uuid.UUID{id})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	var hookOutcomes []clickhouse.Outcome
	hook, hasHook := hooks[id]
	if hasHook {
		if hookOutcomes, err = c.opts.Store.Outcomes(ctx, rulelog.RunWebhookRuleID(), []uuid.UUID{id}); err != nil {
			c.fail(w, r, err)
			return
		}
	}
	c.render(w, r, "run", map[string]any{
		"Title": "Run " + id.String(), "RunID": id, "Rules": found,
		"HasHook": hasHook, "Hook": hook, "HookOutcomes": hookOutcomes,
	})
}
