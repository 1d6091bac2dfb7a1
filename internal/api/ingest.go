package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/runhooks"
	"github.com/runhook/runhook/internal/runs"
)

// op is one run write of a request: a create ("post") or an update ("patch").
type op struct {
	kind    string
	label   string // names the item in errors: "post[3]", "patch.<id>", "" for a lone request
	id      uuid.UUID
	obj     object
	webhook *string // the create's "webhook" URL (LangGraph's parameter)
}

func (o *op) field(name string) string { return join(o.label, name) }

// feedbackItem is one feedback of a request.
type feedbackItem struct {
	label string
	obj   object
}

// batchReq is everything one request writes, checked as a whole before any of it is.
type batchReq struct {
	ops         []*op
	feedback    []*feedbackItem
	attachments int
	// lone is PATCH /runs/{id}: a run unknown to it is a 404.
	lone bool
}

// result is what was written, for the response.
type result struct {
	runs     []runs.Run
	feedback []runs.Feedback
	webhooks map[uuid.UUID]webhookStatus
	// registeredEnded are runs written ended whose webhook workflows were
	// started by this request, late enough to find them: no signal needed.
	registeredEnded map[uuid.UUID]bool
}

type webhookStatus struct {
	Registered bool   `json:"registered"`
	Reason     string `json:"reason,omitempty"`
}

// newOp checks the members every run write needs before merging: the id
// (from the path or part name when the body has none), the project, and a
// create's webhook.
func newOp(kind, label string, obj object, id *uuid.UUID) (*op, *apiError) {
	o := &op{kind: kind, label: label, obj: obj}
	s, has, isStr := obj.str("id")
	switch {
	case has && !isStr:
		return nil, invalid(o.field("id"), "want a UUID string")
	case has:
		parsed, err := uuid.Parse(s)
		if err != nil {
			return nil, invalid(o.field("id"), "%q is not a UUID", s)
		}
		if id != nil && parsed != *id {
			return nil, invalid(o.field("id"), "is %s but the %s names %s", parsed, where(label), *id)
		}
		o.id = parsed
	case id != nil:
		o.id = *id
	default:
		return nil, invalid(o.field("id"), "required")
	}
	obj.setUUID("id", o.id)

	// The SDKs name the project (LANGSMITH_PROJECT) rather than its id.
	if !obj.present("session_id") {
		name, has, isStr := obj.str("session_name")
		if has && (!isStr || name == "") {
			return nil, invalid(o.field("session_name"), "want a non-empty string")
		}
		if has {
			obj.setUUID("session_id", runs.ProjectID(name))
		}
	}

	if obj.present("webhook") {
		u, _, isStr := obj.str("webhook")
		if !isStr || u == "" {
			return nil, invalid(o.field("webhook"), "want a URL string")
		}
		if kind != "post" {
			return nil, invalid(o.field("webhook"), "can only be given when the run is created, not in an update")
		}
		o.webhook = &u
	}
	delete(obj, "webhook")
	return o, nil
}

func where(label string) string {
	if strings.Contains(label, ".") {
		return "part name"
	}
	return "path"
}

// group is every write of one run in a request.
type group struct {
	id      uuid.UUID
	posts   []*op
	patches []*op
	webhook *string
}

// tokenFields are set explicitly by a client that counts tokens itself.
var tokenFields = []string{"total_tokens", "prompt_tokens", "completion_tokens"}

// ingest checks every item of req, merges each run's writes with what is
// stored, and writes the whole request, or nothing when any item is bad.
//
// Each run is merged as: its creates, then the stored version, then its
// patches. The stored version outranks a create because a create that
// arrives when a version is stored is a retry or a late arrival (the SDKs send
// batches in parallel, so a run's patch can land before its create); a
// patch outranks both.
func (h *handler) ingest(ctx context.Context, req *batchReq) (*result, *apiError) {
	groups, order := map[uuid.UUID]*group{}, []uuid.UUID{}
	var urls []string
	for _, o := range req.ops {
		g := groups[o.id]
		if g == nil {
			g = &group{id: o.id}
			groups[o.id] = g
			order = append(order, o.id)
		}
		if o.kind == "post" {
			g.posts = append(g.posts, o)
		} else {
			g.patches = append(g.patches, o)
		}
		if o.webhook != nil {
			g.webhook = o.webhook
			urls = append(urls, *o.webhook)
			if e := h.checkWebhook(o); e != nil {
				return nil, e
			}
		}
	}

	wanted := append([]uuid.UUID{}, order...)
	for _, f := range req.feedback {
		if s, ok, _ := f.obj.str("run_id"); ok {
			if id, err := uuid.Parse(s); err == nil {
				wanted = append(wanted, id)
			}
		}
	}
	unlock := h.locks.lock(order)
	locked := true
	defer func() {
		if locked {
			unlock()
		}
	}()

	stored := map[uuid.UUID]runs.Run{}
	if len(wanted) > 0 {
		present, err := h.store.StoredRunIDs(ctx, wanted)
		if err != nil {
			return nil, internal("read stored runs", err)
		}
		latest, err := h.store.LatestRuns(ctx, present)
		if err != nil {
			return nil, internal("read stored runs", err)
		}
		for _, r := range latest {
			stored[r.ID] = r
		}
	}

	now := h.now()
	res := &result{}
	byID := map[uuid.UUID]runs.Run{}
	for _, id := range order {
		g := groups[id]
		var prev *runs.Run
		if r, ok := stored[id]; ok {
			prev = &r
		}
		r, e := h.mergeRun(g, prev, now, req.lone)
		if e != nil {
			return nil, e
		}
		res.runs = append(res.runs, r)
		byID[id] = r
	}

	for _, f := range req.feedback {
		fb, e := decodeFeedback(f, now)
		if e != nil {
			return nil, e
		}
		// Feedback names its run; the run tells its trace and project.
		run, ok := byID[fb.RunID]
		if !ok {
			run, ok = stored[fb.RunID]
		}
		if ok {
			if fb.TraceID == nil {
				fb.TraceID = &run.TraceID
			}
			if fb.SessionID == nil {
				fb.SessionID = &run.SessionID
			}
		}
		res.feedback = append(res.feedback, fb)
	}

	if e := h.register(ctx, order, groups, res, urls); e != nil {
		return nil, e
	}
	// Runs first: feedback that fails after them makes the client retry the
	// request, and a retry merges into the same runs again.
	if len(res.runs) > 0 {
		if err := h.inserts.Write(ctx, res.runs); err != nil {
			return nil, internal("insert runs", err)
		}
	}
	if len(res.feedback) > 0 {
		if err := h.store.InsertFeedback(ctx, res.feedback); err != nil {
			return nil, internal("insert feedback", err)
		}
	}
	unlock()
	locked = false
	var ended []uuid.UUID
	for _, r := range res.runs {
		// A run registered ended in this request is looked at by its
		// workflow when it starts: no signal.
		if r.EndTime != nil && !res.registeredEnded[r.ID] {
			ended = append(ended, r.ID)
		}
	}
	if len(ended) > 0 && h.webhooks != nil {
		if err := h.webhooks.Completed(ctx, ended); err != nil {
			// The runs are stored, and a run's webhook workflow also checks
			// ClickHouse for its end on its own: failing the request would
			// only make the SDK write the runs again.
			h.logger.Error("telling run-completion webhooks failed; their workflows will find the ends themselves",
				"runs", len(ended), "error", scrub(err.Error(), urls...))
		}
	}
	return res, nil
}

func (h *handler) checkWebhook(o *op) *apiError {
	if h.webhooks == nil {
		return nil
	}
	err := h.webhooks.Check(*o.webhook)
	if err == nil {
		return nil
	}
	var pe *runhooks.PolicyError
	if errors.As(err, &pe) {
		return invalid(o.field("webhook"), "%s", scrub(pe.Msg, *o.webhook))
	}
	return &apiError{status: http.StatusInternalServerError, msg: "checking the webhook failed; see the server log",
		cause: errors.New(scrub("check webhook: "+err.Error(), *o.webhook))}
}

// register asks for the webhooks of the runs that gave one, before they are written.
func (h *handler) register(ctx context.Context, order []uuid.UUID, groups map[uuid.UUID]*group, res *result, urls []string) *apiError {
	endedNow := map[uuid.UUID]bool{}
	for _, r := range res.runs {
		endedNow[r.ID] = r.EndTime != nil
	}
	var reqs []runhooks.Request
	for _, id := range order {
		if g := groups[id]; g.webhook != nil {
			reqs = append(reqs, runhooks.Request{RunID: id, URL: *g.webhook, Ended: endedNow[id]})
		}
	}
	if len(reqs) == 0 {
		return nil
	}
	res.webhooks = map[uuid.UUID]webhookStatus{}
	if h.webhooks == nil {
		for _, r := range reqs {
			res.webhooks[r.RunID] = webhookStatus{Reason: NotConfigured}
		}
		return nil
	}
	regs, err := h.webhooks.Register(ctx, reqs)
	if err != nil {
		var pe *runhooks.PolicyError
		if errors.As(err, &pe) {
			return invalid("webhook", "%s", scrub(pe.Msg, urls...))
		}
		return &apiError{status: http.StatusInternalServerError, msg: "registering run-completion webhooks failed; see the server log",
			cause: errors.New(scrub("register webhooks: "+err.Error(), urls...))}
	}
	for _, r := range reqs {
		res.webhooks[r.RunID] = webhookStatus{Reason: "not registered: the webhook service returned no registration"}
	}
	res.registeredEnded = map[uuid.UUID]bool{}
	for _, reg := range regs {
		if _, asked := res.webhooks[reg.RunID]; asked {
			res.webhooks[reg.RunID] = webhookStatus{Registered: reg.Registered, Reason: scrub(reg.Reason, urls...)}
			res.registeredEnded[reg.RunID] = reg.Delayed
		}
	}
	return nil
}

// mergeRun builds the version of one run to insert from its writes in the
// request and its stored version (prev, nil when there is none).
func (h *handler) mergeRun(g *group, prev *runs.Run, now time.Time, lone bool) (runs.Run, *apiError) {
	merged := object{}
	for _, p := range g.posts {
		merged.overlay(p.obj, false)
	}
	if prev != nil {
		data, err := prev.MarshalJSON()
		if err != nil {
			return runs.Run{}, internal("encode stored run", err)
		}
		var st object
		if err := json.Unmarshal(data, &st); err != nil {
			return runs.Run{}, internal("decode stored run", err)
		}
		// status and modified_at are derived again for the merged version;
		// empty stored values leave a late create's values in place.
		merged.overlay(st, true, "status", "modified_at")
	}
	hasBase := len(g.posts) > 0 || prev != nil
	for _, p := range g.patches {
		if hasBase {
			// An update does not move a run to another project.
			merged.overlay(p.obj, false, "session_id", "session_name")
		} else {
			merged.overlay(p.obj, false)
		}
	}
	if !merged.present("session_id") && len(g.posts) > 0 {
		merged.setUUID("session_id", runs.ProjectID(runs.DefaultProject))
	}

	sameMillisecondEnd(merged)
	r, err := runs.DecodeRun(merged.encode(), now)
	if err != nil {
		return runs.Run{}, g.blame(err, hasBase, lone)
	}
	if r.EndTime != nil && (r.Status == "pending" || r.Status == "running") {
		// A create said pending; its patch ended the run without a status.
		r.Status = "success"
		if r.Error != nil {
			r.Status = "error"
		}
	}
	explicitTokens := false
	for _, o := range append(append([]*op{}, g.posts...), g.patches...) {
		for _, f := range tokenFields {
			explicitTokens = explicitTokens || o.obj.present(f)
		}
	}
	if !explicitTokens {
		if p, c, t, ok := usage(r); ok {
			r.PromptTokens, r.CompletionTokens, r.TotalTokens = p, c, t
		}
	}
	if len(r.ParentRunIDs) == 0 {
		r.ParentRunIDs = ancestors(r.DottedOrder)
	}
	if r.FirstTokenTime == nil {
		r.FirstTokenTime = firstTokenTime(r.Events)
	}
	if prev != nil && !r.ModifiedAt.After(prev.ModifiedAt) {
		// The runs table keeps the version with the greatest modified_at.
		r.ModifiedAt = prev.ModifiedAt.Add(time.Microsecond)
	}
	return r, nil
}

// blame names the item and field a merged run's decoding error comes from:
// the last write that sent the field.
func (g *group) blame(err error, hasBase, lone bool) *apiError {
	var fe *runs.FieldError
	if !errors.As(err, &fe) {
		return invalid(g.firstLabel(), "%v", err)
	}
	for i := len(g.patches) - 1; i >= 0; i-- {
		if g.patches[i].obj.present(fe.Field) {
			return fieldError(g.patches[i].label, err)
		}
	}
	for i := len(g.posts) - 1; i >= 0; i-- {
		if g.posts[i].obj.present(fe.Field) {
			return fieldError(g.posts[i].label, err)
		}
	}
	if len(g.posts) > 0 {
		return fieldError(g.posts[0].label, err)
	}
	if !hasBase {
		// Only patches, no create here or stored. The SDKs send batches in
		// parallel, so the create may be in a request still in flight: 425
		// makes both SDKs retry the request (with backoff), by when it is
		// stored. A patch that carries the whole run (the JS SDK's do) is
		// stored as it is and never gets here. A lone PATCH is answered 404:
		// its client sent the create, if any, before it.
		p := g.patches[0]
		if e := g.probePatches(); e != nil {
			return e
		}
		if lone {
			return &apiError{status: http.StatusNotFound, field: "id",
				msg: fmt.Sprintf("run %s not found (and the update lacks %s to create it)", g.id, fe.Field)}
		}
		return &apiError{status: http.StatusTooEarly, field: p.label, retryAfter: 1,
			msg: fmt.Sprintf("%s: run %s is not stored yet and this update lacks %s to create it; retry once its create is stored",
				p.label, g.id, fe.Field)}
	}
	return fieldError(g.firstLabel(), err)
}

// probePatches checks the fields an orphan patch does send, over a stand-in
// for the create it lacks, so that a bad value is reported as such rather
// than as "not stored yet".
func (g *group) probePatches() *apiError {
	for _, p := range g.patches {
		probe := object{}
		probe.setUUID("id", g.id)
		probe.setUUID("session_id", uuid.Nil)
		probe.setString("name", "stand-in")
		probe.setString("run_type", "chain")
		probe.setString("start_time", "1970-01-01T00:00:00Z")
		probe.overlay(p.obj, false)
		sameMillisecondEnd(probe)
		_, err := runs.DecodeRun(probe.encode(), time.Time{})
		var fe *runs.FieldError
		if errors.As(err, &fe) && p.obj.present(fe.Field) {
			return fieldError(p.label, err)
		}
	}
	return nil
}

func (g *group) firstLabel() string {
	if len(g.posts) > 0 {
		return g.posts[0].label
	}
	return g.patches[0].label
}

// decodeFeedback reads one feedback; LangSmith makes an id when none is sent.
func decodeFeedback(f *feedbackItem, now time.Time) (runs.Feedback, *apiError) {
	if !f.obj.present("id") {
		f.obj.setUUID("id", uuid.New())
	}
	fb, err := runs.DecodeFeedback(f.obj.encode(), now)
	if err != nil {
		return runs.Feedback{}, fieldError(f.label, err)
	}
	return fb, nil
}

// scrub hides the query values and password of each webhook URL in msg: the
// webhook service's messages are not supposed to hold them, and this makes
// sure no response or log line does.
func scrub(msg string, rawURLs ...string) string {
	for _, raw := range rawURLs {
		u, err := url.Parse(raw)
		if err != nil {
			msg = strings.ReplaceAll(msg, raw, "***")
			continue
		}
		if u.RawQuery != "" {
			msg = strings.ReplaceAll(msg, u.RawQuery, "***")
			for _, vs := range u.Query() {
				for _, v := range vs {
					if len(v) >= 3 {
						msg = strings.ReplaceAll(msg, v, "***")
					}
				}
			}
		}
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "***")
		}
	}
	return msg
}

// sameMillisecondEnd moves an end_time less than a millisecond before
// start_time up to it. The JS SDK writes start_time with the run's order in
// its trace as the microseconds (a run started third in its millisecond is
// …924003) but end_time in milliseconds (…924000), so a run that ends in the
// millisecond it started would otherwise end before it started.
func sameMillisecondEnd(o object) {
	if !o.present("start_time") || !o.present("end_time") {
		return
	}
	start, err1 := runs.ParseTime(o["start_time"])
	end, err2 := runs.ParseTime(o["end_time"])
	if err1 == nil && err2 == nil && end.Before(start) && start.Sub(end) < time.Millisecond {
		o["end_time"] = o["start_time"]
	}
}

// ancestors are the run ids of a dotted_order's segments but the last, root
// first: LangSmith's parent_run_ids, which the SDKs do not send.
func ancestors(dotted string) []uuid.UUID {
	segs := strings.Split(dotted, ".")
	out := []uuid.UUID{}
	for _, seg := range segs[:len(segs)-1] {
		_, idPart, ok := strings.Cut(seg, "Z")
		id, err := uuid.Parse(idPart)
		if !ok || err != nil {
			return []uuid.UUID{}
		}
		out = append(out, id)
	}
	return out
}
