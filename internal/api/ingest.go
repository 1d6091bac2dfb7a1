package api

import (
	"context"
	"errors"
	"fmt"
	"maps"
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
	obj     runs.Object
	webhook *string // the create's "webhook" URL (LangGraph's parameter)
}

func (o *op) field(name string) string { return join(o.label, name) }

// feedbackItem is one feedback of a request.
type feedbackItem struct {
	label string
	obj   runs.Object
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
func newOp(kind, label string, obj runs.Object, id *uuid.UUID) (*op, *apiError) {
	o := &op{kind: kind, label: label, obj: obj}
	s, has, isStr := obj.Text("id")
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
	obj.SetUUID("id", o.id)

	if err := obj.NameProject(); err != nil {
		return nil, fieldError(label, err)
	}

	if obj.Present("webhook") {
		u, _, isStr := obj.Text("webhook")
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

// ingest checks every item of req, merges each run's writes with its stored
// version (runs.Merge), and writes the whole request, or nothing when any
// item is bad.
func (h *handler) ingest(ctx context.Context, req *batchReq) (*result, *apiError) {
	groups, urls, e := h.groupWrites(req.ops)
	if e != nil {
		return nil, e
	}
	unlock := h.locks.lock(groupIDs(groups))
	locked := true
	defer func() {
		if locked {
			unlock()
		}
	}()
	stored, e := h.readStored(ctx, wantedRuns(groups, req.feedback))
	if e != nil {
		return nil, e
	}
	now := h.now()
	res := &result{}
	if res.runs, e = mergeGroups(groups, stored, now, req.lone); e != nil {
		return nil, e
	}
	if res.feedback, e = decodeFeedbacks(req.feedback, res.runs, stored, now); e != nil {
		return nil, e
	}
	if e := h.register(ctx, groups, res, urls); e != nil {
		return nil, e
	}
	if e := h.write(ctx, res); e != nil {
		return nil, e
	}
	unlock()
	locked = false
	h.signalEnded(ctx, res, urls)
	return res, nil
}

// groupWrites gathers the writes of each run, in the order the runs first
// appear, and checks the webhooks they ask for.
func (h *handler) groupWrites(ops []*op) (groups []*group, urls []string, e *apiError) {
	byID := map[uuid.UUID]*group{}
	for _, o := range ops {
		g := byID[o.id]
		if g == nil {
			g = &group{id: o.id}
			byID[o.id] = g
			groups = append(groups, g)
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
				return nil, nil, e
			}
		}
	}
	return groups, urls, nil
}

func groupIDs(groups []*group) []uuid.UUID {
	ids := make([]uuid.UUID, len(groups))
	for i, g := range groups {
		ids[i] = g.id
	}
	return ids
}

// wantedRuns are the runs whose stored versions a request needs: those it
// writes and those its feedback names.
func wantedRuns(groups []*group, feedback []*feedbackItem) []uuid.UUID {
	wanted := groupIDs(groups)
	for _, f := range feedback {
		if s, ok, _ := f.obj.Text("run_id"); ok {
			if id, err := uuid.Parse(s); err == nil {
				wanted = append(wanted, id)
			}
		}
	}
	return wanted
}

// readStored reads the latest stored version of each wanted run there is.
func (h *handler) readStored(ctx context.Context, wanted []uuid.UUID) (map[uuid.UUID]runs.Run, *apiError) {
	stored := map[uuid.UUID]runs.Run{}
	if len(wanted) == 0 {
		return stored, nil
	}
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
	return stored, nil
}

// mergeGroups builds the version of each run to write.
func mergeGroups(groups []*group, stored map[uuid.UUID]runs.Run, now time.Time, lone bool) ([]runs.Run, *apiError) {
	out := make([]runs.Run, 0, len(groups))
	for _, g := range groups {
		var prev *runs.Run
		if r, ok := stored[g.id]; ok {
			prev = &r
		}
		r, err := runs.Merge(objects(g.posts), prev, objects(g.patches), now)
		if err != nil {
			return nil, g.mergeError(err, lone)
		}
		out = append(out, r)
	}
	return out, nil
}

func objects(ops []*op) []runs.Object {
	out := make([]runs.Object, len(ops))
	for i, o := range ops {
		out[i] = o.obj
	}
	return out
}

// decodeFeedbacks reads the request's feedback. Feedback names its run; the
// run, written now or stored, tells its trace and project.
func decodeFeedbacks(items []*feedbackItem, written []runs.Run, stored map[uuid.UUID]runs.Run, now time.Time) ([]runs.Feedback, *apiError) {
	byID := maps.Clone(stored)
	for _, r := range written {
		byID[r.ID] = r
	}
	var out []runs.Feedback
	for _, f := range items {
		fb, e := decodeFeedback(f, now)
		if e != nil {
			return nil, e
		}
		if run, ok := byID[fb.RunID]; ok {
			if fb.TraceID == nil {
				fb.TraceID = &run.TraceID
			}
			if fb.SessionID == nil {
				fb.SessionID = &run.SessionID
			}
		}
		out = append(out, fb)
	}
	return out, nil
}

// write inserts the runs, then the feedback: feedback that fails after them
// makes the client retry the request, and a retry merges into the same runs
// again.
func (h *handler) write(ctx context.Context, res *result) *apiError {
	if len(res.runs) > 0 {
		if err := h.inserts.Write(ctx, res.runs); err != nil {
			return internal("insert runs", err)
		}
	}
	if len(res.feedback) > 0 {
		if err := h.store.InsertFeedback(ctx, res.feedback); err != nil {
			return internal("insert feedback", err)
		}
	}
	return nil
}

// signalEnded tells the webhooks of the runs written ended. A run registered
// ended in this request is looked at by its workflow when it starts: no
// signal.
func (h *handler) signalEnded(ctx context.Context, res *result, urls []string) {
	var ended []uuid.UUID
	for _, r := range res.runs {
		if r.EndTime != nil && !res.registeredEnded[r.ID] {
			ended = append(ended, r.ID)
		}
	}
	if len(ended) == 0 || h.webhooks == nil {
		return
	}
	if err := h.webhooks.Completed(ctx, ended); err != nil {
		// The runs are stored, and a run's webhook workflow also checks
		// ClickHouse for its end on its own: failing the request would
		// only make the SDK write the runs again.
		h.logger.Error("telling run-completion webhooks failed; their workflows will find the ends themselves",
			"runs", len(ended), "error", scrub(err.Error(), urls...))
	}
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
		// invalid names the field; the message names it too ("webhook: ...").
		return invalid(o.field("webhook"), "%s", scrub(strings.TrimPrefix(pe.Msg, "webhook: "), *o.webhook))
	}
	return &apiError{status: http.StatusInternalServerError, msg: "checking the webhook failed; see the server log",
		cause: errors.New(scrub("check webhook: "+err.Error(), *o.webhook))}
}

// register asks for the webhooks of the runs that gave one, before they are written.
func (h *handler) register(ctx context.Context, groups []*group, res *result, urls []string) *apiError {
	endedNow := map[uuid.UUID]bool{}
	for _, r := range res.runs {
		endedNow[r.ID] = r.EndTime != nil
	}
	var reqs []runhooks.Request
	for _, g := range groups {
		if g.webhook != nil {
			reqs = append(reqs, runhooks.Request{RunID: g.id, URL: *g.webhook, Ended: endedNow[g.id]})
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

// mergeError answers a run that cannot be merged, naming the item and field
// of the write it is blamed on.
func (g *group) mergeError(err error, lone bool) *apiError {
	var se *runs.StoredError
	if errors.As(err, &se) {
		return internal(se.What, se.Err)
	}
	var me *runs.MergeError
	if !errors.As(err, &me) {
		return internal("merge run", err)
	}
	blamed := g.posts
	if me.Patch {
		blamed = g.patches
	}
	label := blamed[me.Index].label
	var fe *runs.FieldError
	if !me.Unstored || !errors.As(me.Err, &fe) {
		return fieldError(label, me.Err)
	}
	// Only patches, no create here or stored. The SDKs send batches in
	// parallel, so the create may be in a request still in flight: 425 makes
	// both SDKs retry the request (with backoff), by when it is stored. A
	// patch that carries the whole run (the JS SDK's do) is stored as it is
	// and never gets here. A lone PATCH is answered 404: its client sent the
	// create, if any, before it.
	if lone {
		return &apiError{status: http.StatusNotFound, field: "id",
			msg: fmt.Sprintf("run %s not found (and the update lacks %s to create it)", g.id, fe.Field)}
	}
	return &apiError{status: http.StatusTooEarly, field: label, retryAfter: 1,
		msg: fmt.Sprintf("%s: run %s is not stored yet and this update lacks %s to create it; retry once its create is stored",
			label, g.id, fe.Field)}
}

// decodeFeedback reads one feedback; LangSmith makes an id when none is sent.
func decodeFeedback(f *feedbackItem, now time.Time) (runs.Feedback, *apiError) {
	if !f.obj.Present("id") {
		f.obj.SetUUID("id", uuid.New())
	}
	fb, err := runs.DecodeFeedback(f.obj.Encode(), now)
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
