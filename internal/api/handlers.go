package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/google/uuid"
)

// batchSizeLimit is how many operations the SDKs put in one batch (LangSmith's value).
const batchSizeLimit = 100

// info is what the SDKs read before tracing. With use_multipart_endpoint
// they send /runs/multipart; gzip_body_enabled lets the JS SDK gzip those
// bodies and zstd_compression_enabled lets the Python SDK (and the JS SDK on
// Node 22.15+) use zstd. size_limit_bytes is the uncompressed batch size the
// SDKs aim for; it is half the body limit because they overshoot it by one
// run and multipart adds headers.
func (h *handler) info(w http.ResponseWriter, r *http.Request) *apiError {
	sizeLimit := min(h.maxBody/2, 20<<20)
	writeJSON(w, http.StatusOK, map[string]any{
		"instance_flags": map[string]any{
			"gzip_body_enabled":        true,
			"zstd_compression_enabled": true,
		},
		"batch_ingest_config": map[string]any{
			"use_multipart_endpoint":    true,
			"size_limit":                batchSizeLimit,
			"size_limit_bytes":          sizeLimit,
			"scale_up_qsize_trigger":    1000,
			"scale_up_nthreads_limit":   16,
			"scale_down_nempty_trigger": 4,
		},
	})
	return nil
}

// readOp reads the body of POST /runs or PATCH /runs/{id} as one write.
func (h *handler) readOp(w http.ResponseWriter, r *http.Request, kind string, id *uuid.UUID) (*op, *apiError) {
	obj, e := h.readObject(w, r)
	if e != nil {
		return nil, e
	}
	return newOp(kind, "", obj, id)
}

func (h *handler) createRun(w http.ResponseWriter, r *http.Request) *apiError {
	o, e := h.readOp(w, r, "post", nil)
	if e != nil {
		return e
	}
	res, e := h.run(r, &batchReq{ops: []*op{o}})
	if e != nil {
		return e
	}
	body := map[string]any{"id": o.id}
	if st, ok := res.webhooks[o.id]; ok {
		body["webhook"] = st
	}
	writeJSON(w, http.StatusAccepted, body)
	return nil
}

func pathID(r *http.Request) (uuid.UUID, *apiError) {
	s := r.PathValue("id")
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, invalid("id", "%q in the path is not a UUID", s)
	}
	return id, nil
}

func (h *handler) updateRun(w http.ResponseWriter, r *http.Request) *apiError {
	id, e := pathID(r)
	if e != nil {
		return e
	}
	o, e := h.readOp(w, r, "patch", &id)
	if e != nil {
		return e
	}
	if _, e := h.run(r, &batchReq{ops: []*op{o}, lone: true}); e != nil {
		return e
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"id": id})
	return nil
}

func (h *handler) readRun(w http.ResponseWriter, r *http.Request) *apiError {
	id, e := pathID(r)
	if e != nil {
		return e
	}
	got, err := h.store.LatestRuns(r.Context(), []uuid.UUID{id})
	if err != nil {
		return internal("read run", err)
	}
	if len(got) == 0 {
		return &apiError{status: http.StatusNotFound, msg: fmt.Sprintf("run %s not found", id), field: "id"}
	}
	requestStats(r).runs = 1
	writeJSON(w, http.StatusOK, got[0])
	return nil
}

// batch is POST /runs/batch: {"post": [run, ...], "patch": [run, ...]}.
func (h *handler) batch(w http.ResponseWriter, r *http.Request) *apiError {
	top, e := h.readObject(w, r)
	if e != nil {
		return e
	}
	req := &batchReq{}
	for _, kind := range []string{"post", "patch"} {
		if !top.Present(kind) {
			continue
		}
		var items []json.RawMessage
		if err := json.Unmarshal(top[kind], &items); err != nil {
			return badRequest(kind, "want an array of runs")
		}
		for i, item := range items {
			label := fmt.Sprintf("%s[%d]", kind, i)
			obj, e := parseObject(label, item)
			if e != nil {
				return e
			}
			o, e := newOp(kind, label, obj, nil)
			if e != nil {
				return e
			}
			req.ops = append(req.ops, o)
		}
	}
	return h.respond(w, r, req)
}

// runFields are the members the SDKs send as parts of their own
// (post.<id>.inputs ...), so that large ones need not be held in one object.
var runFields = map[string]bool{
	"inputs": true, "outputs": true, "events": true, "extra": true, "error": true, "serialized": true,
}

// multipart is POST /runs/multipart: parts named post.<id>, patch.<id>,
// post.<id>.<field> / patch.<id>.<field> (inputs, outputs, events, extra,
// error, serialized), feedback.<id> and attachment.<id>.<name>. Attachments
// are accepted and dropped (counted in the log): runhook has no blob store.
func (h *handler) multipart(w http.ResponseWriter, r *http.Request) *apiError {
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/form-data" || params["boundary"] == "" {
		return &apiError{status: http.StatusUnsupportedMediaType, msg: "want Content-Type multipart/form-data with a boundary"}
	}
	data, e := h.readBody(w, r)
	if e != nil {
		return e
	}
	req := &batchReq{}
	// The last create or update part of each name, which field parts join.
	mains := map[string]*op{}
	seenFeedback := map[uuid.UUID]bool{}
	mr := multipart.NewReader(bytes.NewReader(data), params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return badRequest("", "malformed multipart body: %v", err)
		}
		name := part.FormName()
		content, err := io.ReadAll(part)
		if err != nil {
			return badRequest(name, "malformed multipart body: %v", err)
		}
		segs := strings.SplitN(name, ".", 3)
		if len(segs) < 2 {
			return invalid(name, "not a post.<id>, patch.<id>, feedback.<id> or attachment.<id>.<name> part")
		}
		id, err := uuid.Parse(segs[1])
		if err != nil {
			return invalid(name, "%q in the part name is not a UUID", segs[1])
		}
		switch kind := segs[0]; {
		case kind == "attachment" && len(segs) == 3:
			req.attachments++
		case kind == "feedback" && len(segs) == 2:
			if seenFeedback[id] {
				return invalid(name, "sent twice")
			}
			seenFeedback[id] = true
			obj, e := parseObject(name, content)
			if e != nil {
				return e
			}
			if obj.Present("id") {
				s, _, isStr := obj.Text("id")
				if got, err := uuid.Parse(s); !isStr || err != nil || got != id {
					return invalid(join(name, "id"), "does not match the part name")
				}
			}
			obj.SetUUID("id", id)
			req.feedback = append(req.feedback, &feedbackItem{label: name, obj: obj})
		case (kind == "post" || kind == "patch") && len(segs) == 2:
			obj, e := parseObject(name, content)
			if e != nil {
				return e
			}
			o, e := newOp(kind, name, obj, &id)
			if e != nil {
				return e
			}
			mains[name] = o
			req.ops = append(req.ops, o)
		case kind == "post" || kind == "patch":
			field := segs[2]
			if !runFields[field] {
				return invalid(name, "unknown run field %q (inputs, outputs, events, extra, error or serialized)", field)
			}
			o := mains[kind+"."+segs[1]]
			if o == nil {
				return invalid(name, "comes before its %s.%s part", kind, segs[1])
			}
			raw := bytes.TrimSpace(content)
			if !json.Valid(raw) {
				return badRequest(name, "invalid JSON")
			}
			o.obj[field] = raw
		default:
			return invalid(name, "not a post.<id>, patch.<id>, feedback.<id> or attachment.<id>.<name> part")
		}
	}
	return h.respond(w, r, req)
}

// respond writes a batch or multipart request and answers 202 with, for
// each run that asked for a webhook, what became of it. The SDKs read
// nothing of a 2xx body, so it is free to carry this.
func (h *handler) respond(w http.ResponseWriter, r *http.Request, req *batchReq) *apiError {
	res, e := h.run(r, req)
	if e != nil {
		return e
	}
	body := map[string]any{}
	if len(res.webhooks) > 0 {
		perRun := map[string]any{}
		for id, st := range res.webhooks {
			perRun[id.String()] = map[string]any{"webhook": st}
		}
		body["runs"] = perRun
	}
	writeJSON(w, http.StatusAccepted, body)
	return nil
}

func (h *handler) run(r *http.Request, req *batchReq) (*result, *apiError) {
	st := requestStats(r)
	st.attachments = req.attachments
	res, e := h.ingest(r.Context(), req)
	if e != nil {
		return nil, e
	}
	st.runs, st.feedback = len(res.runs), len(res.feedback)
	return res, nil
}

// createFeedback is POST /feedback, answered with the stored feedback.
func (h *handler) createFeedback(w http.ResponseWriter, r *http.Request) *apiError {
	obj, e := h.readObject(w, r)
	if e != nil {
		return e
	}
	res, e := h.run(r, &batchReq{feedback: []*feedbackItem{{obj: obj}}})
	if e != nil {
		return e
	}
	writeJSON(w, http.StatusOK, res.feedback[0])
	return nil
}
