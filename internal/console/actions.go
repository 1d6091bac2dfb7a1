package console

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/runhook/runhook/internal/ruleops"
	"github.com/runhook/runhook/internal/rules"
)

// redeliverLimit is as many (run, webhook) pairs as the CLI's default.
const redeliverLimit = 10000

// ruleAction runs pause, resume, trigger or redeliver through ruleops, as
// the CLI does, then shows the rule with what was done.
func (c *Console) ruleAction(w http.ResponseWriter, r *http.Request) {
	ru, ok := c.ruleByPath(w, r)
	if !ok {
		return
	}
	ctx, action := r.Context(), r.PathValue("action")
	needsSchedules := action == "pause" || action == "resume" || action == "trigger"
	if needsSchedules && c.opts.Schedules == nil {
		http.Error(w, "this server has no Temporal client: "+action+" is off", http.StatusServiceUnavailable)
		return
	}
	var (
		msg string
		err error
	)
	switch action {
	case "pause":
		err = ruleops.Pause(ctx, c.opts.Store, c.opts.Schedules, ru.ID, "paused in the console", c.opts.Now())
		msg = "paused"
	case "resume":
		err = ruleops.Resume(ctx, c.opts.Store, c.opts.Schedules, ru.ID, "resumed in the console", c.opts.Now())
		msg = "resumed"
	case "trigger":
		err = ruleops.Trigger(ctx, c.opts.Schedules, ru.ID)
		msg = "tick requested"
	case "redeliver":
		if c.opts.Redeliveries == nil {
			http.Error(w, "this server cannot start redeliveries (no Temporal client)", http.StatusServiceUnavailable)
			return
		}
		var started []ruleops.Redelivery
		started, err = ruleops.Redeliver(ctx, c.opts.Store, c.opts.Redeliveries, ru, redeliverLimit, c.opts.Now().UTC())
		n := 0
		for _, d := range started {
			n += len(d.RunIDs)
		}
		msg = fmt.Sprintf("redelivering %d failed run(s) in %d workflow(s)", n, len(started))
		if len(started) == 0 {
			msg = "no failed deliveries to send again"
		}
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.opts.Logger.Info("console action", "rule_id", ru.ID, "action", action)
	http.Redirect(w, r, fmt.Sprintf("%s/rules/%s?msg=%s", Prefix, ru.ID, url.QueryEscape(msg)), http.StatusSeeOther)
}

// previewPage shows which stored runs the rule would pick now: it reads
// only, so it is a GET.
func (c *Console) previewPage(w http.ResponseWriter, r *http.Request) {
	ru, ok := c.ruleByPath(w, r)
	if !ok {
		return
	}
	spec, err := rules.ParseSpec([]byte(ru.Spec))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	opts := c.opts.Preview
	opts.Since, opts.Limit = time.Hour, 50
	if s := r.URL.Query().Get("since"); s != "" {
		if opts.Since, err = time.ParseDuration(s); err != nil || opts.Since <= 0 {
			http.Error(w, "since: a positive duration, e.g. 1h", http.StatusBadRequest)
			return
		}
	}
	picks, err := ruleops.Preview(r.Context(), c.opts.Store, spec, opts)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, "preview", map[string]any{
		"Title": "Preview " + ru.Name, "Rule": ru, "Picks": picks, "Since": opts.Since.String(),
		"Gate": len(spec.Feedback.Require) > 0,
	})
}
