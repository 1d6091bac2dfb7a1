package api

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
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
	seq     uint32 // its place in the request
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
	ops     []*op // in the request's order
	webhook *string
}

// label names the group's first write in errors.
func (g *group) label() string { return g.ops[0].label }

// ingest checks every item of req, folds each run's writes with those logged
// before (runs.Fold), and writes the whole request, or nothing when any item
// is bad.
//
// No lock is held between requests, in this process or across servers: a
// request logs its writes (run_writes), reads each run's whole log back, and
// stores the fold of what it read. Of two requests about one run, the later
// to read sees the other's writes, so its fold holds both and carries the
// greater modified_at (runs.FoldVersion), which the runs table keeps.
func (h *handler) ingest(ctx context.Context, req *batchReq) (*result, *apiError) {
	groups, urls, e := h.groupWrites(req.ops)
	if e != nil {
		return nil, e
	}
	now := h.now()
	own := ownWrites(groups, now)
	ids := groupIDs(groups)
	logged, err := h.store.RunWrites(ctx, ids)
	if err != nil {
		return nil, internal("read run writes", err)
	}
	stored, e := h.readStored(ctx, needStored(groups, logged, req.feedback))
	if e != nil {
		return nil, e
	}
	bases, e := baseWrites(groups, logged, stored)
	if e != nil {
		return nil, e
	}
	res := &result{}
	folds := make([][]runs.Write, len(groups))
	for i, g := range groups {
		folds[i] = slices.Concat(logged[g.id], bases[g.id], own[g.id])
		r, err := runs.Fold(folds[i])
		if err != nil {
			return nil, g.foldError(err, req.lone)
		}
		res.runs = append(res.runs, r)
	}
	if res.feedback, e = decodeFeedbacks(req.feedback, res.runs, stored, now); e != nil {
		return nil, e
	}
	if e := h.register(ctx, groups, res, urls); e != nil {
		return nil, e
	}
	if e := h.logWrites(ctx, groups, own, bases); e != nil {
		return nil, e
	}
	if e := h.refold(ctx, groups, folds, res); e != nil {
		return nil, e
	}
	if e := h.write(ctx, res); e != nil {
		return nil, e
	}
	h.signalEnded(ctx, res, urls)
	return res, nil
}

// ownWrites are the request's writes as the log keeps them, by run.
func ownWrites(groups []*group, now time.Time) map[uuid.UUID][]runs.Write {
	request := uuid.New()
	out := make(map[uuid.UUID][]runs.Write, len(groups))
	for _, g := range groups {
		for _, o := range g.ops {
			kind := runs.Patch
			if o.kind == "post" {
				kind = runs.Create
			}
			out[g.id] = append(out[g.id], runs.Write{
				RunID: g.id, ReceivedAt: now, Request: request, Seq: o.seq,
				Kind: kind, Body: o.obj, Label: o.label,
			})
		}
	}
	return out
}

// needStored are the runs whose stored versions the request needs: those
// with no create or base logged (a version stored without a log becomes
// their base) and those its feedback names.
func needStored(groups []*group, logged map[uuid.UUID][]runs.Write, feedback []*feedbackItem) []uuid.UUID {
	var ids []uuid.UUID
	for _, g := range groups {
		if !runs.HasOrigin(logged[g.id]) {
			ids = append(ids, g.id)
		}
	}
	for _, f := range feedback {
		if s, ok, _ := f.obj.Text("run_id"); ok {
			if id, err := uuid.Parse(s); err == nil {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// baseWrites are the bases to log: the stored version of each run written
// without a logged create or base.
func baseWrites(groups []*group, logged map[uuid.UUID][]runs.Write, stored map[uuid.UUID]runs.Run) (map[uuid.UUID][]runs.Write, *apiError) {
	out := map[uuid.UUID][]runs.Write{}
	for _, g := range groups {
		r, ok := stored[g.id]
		if !ok || runs.HasOrigin(logged[g.id]) {
			continue
		}
		w, err := runs.BaseWrite(r)
		if err != nil {
			return nil, internal("log the stored version of run "+g.id.String(), err)
		}
		out[g.id] = []runs.Write{w}
	}
	return out, nil
}

// logWrites logs the request's writes and the bases they fold over.
func (h *handler) logWrites(ctx context.Context, groups []*group, own, bases map[uuid.UUID][]runs.Write) *apiError {
	var ws []runs.Write
	for _, g := range groups {
		ws = append(append(ws, bases[g.id]...), own[g.id]...)
	}
	if err := h.writes.Write(ctx, ws); err != nil {
		return internal("log run writes", err)
	}
	return nil
}

// refold reads the log of the runs again, now that the request's writes are
// in it, and folds again each run that another request wrote meanwhile.
func (h *handler) refold(ctx context.Context, groups []*group, folds [][]runs.Write, res *result) *apiError {
	logged, err := h.store.RunWrites(ctx, groupIDs(groups))
	if err != nil {
		return internal("read run writes", err)
	}
	for i, g := range groups {
		// What was folded before is in the log too; the union also keeps a
		// store that reads back less than it was given from dropping writes.
		all := slices.Concat(logged[g.id], folds[i])
		if runs.SameWrites(all, folds[i]) {
			continue
		}
		r, err := runs.Fold(all)
		if err != nil {
			// Each write was checked against the log its request read; only
			// their combination fails. The request's writes are logged, and
			// a later write of the run folds them all again.
			h.logger.Error("folding a run with the writes of a concurrent request failed",
				"run_id", g.id, "writes", len(all), "error", err)
			return &apiError{status: http.StatusConflict, field: g.label(),
				msg: fmt.Sprintf("run %s: this request's writes conflict with a concurrent request's: %v", g.id, err)}
		}
		res.runs[i] = r
	}
	return nil
}

// groupWrites gathers the writes of each run, in the order the runs first
// appear, and checks the webhooks they ask for.
func (h *handler) groupWrites(ops []*op) (groups []*group, urls []string, e *apiError) {
	byID := map[uuid.UUID]*group{}
	for i, o := range ops {
		o.seq = uint32(i)
		g := byID[o.id]
		if g == nil {
			g = &group{id: o.id}
			byID[o.id] = g
			groups = append(groups, g)
		}
		g.ops = append(g.ops, o)
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

// foldError answers a run whose writes cannot be folded, naming the item
// and field of the write it is blamed on.
func (g *group) foldError(err error, lone bool) *apiError {
	var se *runs.StoredError
	if errors.As(err, &se) {
		return internal(se.What, se.Err)
	}
	var fe *runs.FoldError
	if !errors.As(err, &fe) {
		return internal("merge run", err)
	}
	label := g.label()
	if fe.Write != nil && fe.Write.Label != "" {
		label = fe.Write.Label
	}
	var field *runs.FieldError
	if !fe.Err.Unstored || !errors.As(fe.Err.Err, &field) {
		return fieldError(label, fe.Err.Err)
	}
	// Only patches, no create here or stored. The SDKs send batches in
	// parallel, so the create may be in a request still in flight: 425 makes
	// both SDKs retry the request (with backoff), by when it is stored. A
	// patch that carries the whole run (the JS SDK's do) is stored as it is
	// and never gets here. A lone PATCH is answered 404: its client sent the
	// create, if any, before it.
	if lone {
		return &apiError{status: http.StatusNotFound, field: "id",
			msg: fmt.Sprintf("run %s not found (and the update lacks %s to create it)", g.id, field.Field)}
	}
	return &apiError{status: http.StatusTooEarly, field: label, retryAfter: 1,
		msg: fmt.Sprintf("%s: run %s is not stored yet and this update lacks %s to create it; retry once its create is stored",
			label, g.id, field.Field)}
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
