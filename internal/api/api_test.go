package api_test

// The handler against the real ClickHouse server, a fresh database per test
// (testenv.ClickHouse), over a loopback listener.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/klauspost/compress/zstd"

	"github.com/runhook/runhook/internal/api"
	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/testenv"
)

const testKey = "rhk_test-key-of-the-api-tests"

type server struct {
	t     *testing.T
	url   string
	store *clickhouse.Store
	logs  *testenv.Buffer
}

func newServer(t *testing.T, change ...func(*api.Options)) *server {
	t.Helper()
	store := testenv.ClickHouse(t)
	logs := &testenv.Buffer{}
	opts := api.Options{
		Store:     store,
		KeyHashes: []string{api.HashKey("some-other-key"), api.HashKey(testKey)},
		Logger:    slog.New(slog.NewJSONHandler(logs, nil)),
	}
	for _, c := range change {
		c(&opts)
	}
	srv := httptest.NewServer(api.New(opts))
	t.Cleanup(srv.Close)
	return &server{t: t, url: srv.URL, store: store, logs: logs}
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (s *server) do(method, path string, body []byte, headers ...string) response {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("x-api-key", testKey)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{status: res.StatusCode, header: res.Header, raw: raw}
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			s.t.Fatalf("%s %s: response is not JSON: %s", method, path, raw)
		}
	}
	return out
}

func (s *server) want(r response, status int) response {
	s.t.Helper()
	if r.status != status {
		s.t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	return r
}

// counts are the rows (versions) of runs and of feedback.
func (s *server) counts() (runRows, feedbackRows uint64) {
	s.t.Helper()
	ctx := context.Background()
	if err := s.store.QueryRow(ctx, "SELECT count() FROM runs").Scan(&runRows); err != nil {
		s.t.Fatal(err)
	}
	if err := s.store.QueryRow(ctx, "SELECT count() FROM feedback").Scan(&feedbackRows); err != nil {
		s.t.Fatal(err)
	}
	return runRows, feedbackRows
}

func (s *server) latest(id uuid.UUID) runs.Run {
	s.t.Helper()
	got, err := s.store.LatestRuns(context.Background(), []uuid.UUID{id})
	if err != nil {
		s.t.Fatal(err)
	}
	if len(got) != 1 {
		s.t.Fatalf("run %s not stored", id)
	}
	return got[0]
}

func (s *server) feedbackOn(ids ...uuid.UUID) []runs.Feedback {
	s.t.Helper()
	got, err := s.store.FeedbackForRuns(context.Background(), ids)
	if err != nil {
		s.t.Fatal(err)
	}
	return got
}

// mustJSON encodes as the SDKs do, without escaping <, > and &.
func mustJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return bytes.TrimSpace(b.Bytes())
}

var t0 = time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)

func ts(d time.Duration) string { return t0.Add(d).Format("2006-01-02T15:04:05.000000Z") }

// create is a run create as the SDKs send it: the project by name.
func create(id uuid.UUID, extra map[string]any) map[string]any {
	m := map[string]any{
		"id": id, "name": "agent", "run_type": "chain", "start_time": ts(0),
		"session_name": "api-tests", "inputs": map[string]any{"question": "a < b & c"},
		"trace_id": id, "dotted_order": runs.DottedOrderPart(t0, id),
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// ended is the patch that ends a run: the JS SDK also repeats most of the
// create in it, but not inputs.
func ended(id uuid.UUID, extra map[string]any) map[string]any {
	m := map[string]any{
		"id": id, "trace_id": id, "dotted_order": runs.DottedOrderPart(t0, id),
		"end_time": ts(2 * time.Second), "outputs": map[string]any{"answer": "42"},
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func TestInfoIsPublicAndOffersMultipartAndCompression(t *testing.T) {
	s := newServer(t)
	for _, path := range []string{"/info", "/api/v1/info"} {
		r := s.want(s.do("GET", path, nil, "x-api-key", ""), http.StatusOK)
		cfg, _ := r.body["batch_ingest_config"].(map[string]any)
		flags, _ := r.body["instance_flags"].(map[string]any)
		if cfg["use_multipart_endpoint"] != true || flags["gzip_body_enabled"] != true || flags["zstd_compression_enabled"] != true {
			t.Errorf("%s: %s", path, r.raw)
		}
		for _, k := range []string{"size_limit", "size_limit_bytes", "scale_up_qsize_trigger", "scale_up_nthreads_limit", "scale_down_nempty_trigger"} {
			if _, ok := cfg[k].(float64); !ok {
				t.Errorf("%s: batch_ingest_config.%s missing (the Python SDK reads it): %s", path, k, r.raw)
			}
		}
	}
}

func TestEveryDataEndpointNeedsAKey(t *testing.T) {
	s := newServer(t)
	id := uuid.New()
	endpoints := [][2]string{
		{"POST", "/runs"}, {"PATCH", "/runs/" + id.String()}, {"GET", "/runs/" + id.String()},
		{"POST", "/runs/batch"}, {"POST", "/runs/multipart"}, {"POST", "/feedback"},
		{"POST", "/api/v1/runs/batch"}, {"GET", "/api/v1/runs/" + id.String()},
	}
	body := mustJSON(create(id, nil))
	for _, e := range endpoints {
		for _, key := range []string{"", "wrong-key", testKey + "x", strings.ToUpper(testKey)} {
			r := s.do(e[0], e[1], body, "x-api-key", key)
			if r.status != http.StatusUnauthorized || r.body["error"] == nil {
				t.Errorf("%s %s with key %q: %d %s, want 401 with an error", e[0], e[1], key, r.status, r.raw)
			}
		}
	}
	if runRows, _ := s.counts(); runRows != 0 {
		t.Errorf("%d runs written without a key", runRows)
	}
	s.want(s.do("POST", "/runs", body), http.StatusAccepted)
	if strings.Contains(s.logs.String(), testKey) || strings.Contains(s.logs.String(), "wrong-key") {
		t.Errorf("a key is in the log:\n%s", s.logs.String())
	}
	// No key configured: nothing is accepted.
	closed := newServer(t, func(o *api.Options) { o.KeyHashes = nil })
	closed.want(closed.do("POST", "/runs", body), http.StatusUnauthorized)
}

func TestCreatePatchAndReadOneRun(t *testing.T) {
	s := newServer(t)
	id := uuid.New()
	r := s.want(s.do("POST", "/runs", mustJSON(create(id, map[string]any{"tags": []string{"prod"}}))), http.StatusAccepted)
	if r.body["id"] != id.String() {
		t.Errorf("create answered %s", r.raw)
	}
	got := s.want(s.do("GET", "/runs/"+id.String(), nil), http.StatusOK).body
	if got["status"] != "pending" || got["end_time"] != nil || got["session_id"] != runs.ProjectID("api-tests").String() {
		t.Errorf("after create: %v", got)
	}
	first := s.latest(id)

	usage := map[string]any{"input_tokens": 30, "output_tokens": 12, "total_tokens": 42}
	s.want(s.do("PATCH", "/api/v1/runs/"+id.String(), mustJSON(map[string]any{
		"end_time": ts(3 * time.Second), "outputs": map[string]any{"answer": "42", "usage_metadata": usage},
		"events": []any{map[string]any{"name": "start", "time": ts(0)}, map[string]any{"name": "new_token", "time": ts(time.Second)}},
	})), http.StatusAccepted)

	run := s.latest(id)
	if run.Status != "success" || run.EndTime == nil || !run.EndTime.Equal(t0.Add(3*time.Second)) {
		t.Errorf("after patch: status %s end %v", run.Status, run.EndTime)
	}
	if string(run.Inputs) != `{"question":"a < b & c"}` {
		t.Errorf("inputs = %s, want the create's, unescaped", run.Inputs)
	}
	if run.PromptTokens != 30 || run.CompletionTokens != 12 || run.TotalTokens != 42 {
		t.Errorf("tokens %d/%d/%d, want 30/12/42 from usage_metadata", run.PromptTokens, run.CompletionTokens, run.TotalTokens)
	}
	if run.FirstTokenTime == nil || !run.FirstTokenTime.Equal(t0.Add(time.Second)) {
		t.Errorf("first_token_time = %v, want the new_token event's", run.FirstTokenTime)
	}
	if len(run.Tags) != 1 || run.Tags[0] != "prod" || !run.StartTime.Equal(t0) || run.SessionID != first.SessionID {
		t.Errorf("the patch lost the create's fields: %+v", run)
	}
	if !run.ModifiedAt.After(first.ModifiedAt) {
		t.Errorf("patched version modified_at %v is not after the create's %v", run.ModifiedAt, first.ModifiedAt)
	}
	if runRows, _ := s.counts(); runRows != 2 {
		t.Errorf("%d versions stored, want 2", runRows)
	}

	got = s.want(s.do("GET", "/runs/"+id.String(), nil), http.StatusOK).body
	want, _ := run.MarshalJSON()
	var wantMap map[string]any
	_ = json.Unmarshal(want, &wantMap)
	for k, v := range wantMap {
		if fmt.Sprint(got[k]) != fmt.Sprint(v) {
			t.Errorf("GET field %s = %v, want %v", k, got[k], v)
		}
	}

	s.want(s.do("GET", "/runs/"+uuid.NewString(), nil), http.StatusNotFound)
	if r := s.want(s.do("GET", "/runs/nope", nil), http.StatusUnprocessableEntity); r.body["field"] != "id" {
		t.Errorf("bad id: %s", r.raw)
	}
	if r := s.want(s.do("GET", "/no/such/thing", nil), http.StatusNotFound); r.body["error"] == nil {
		t.Errorf("unknown endpoint: %s", r.raw)
	}
}

func TestBatchMergesCreateAndPatchOfOneRun(t *testing.T) {
	s := newServer(t)
	a, b, c := uuid.New(), uuid.New(), uuid.New()
	s.want(s.do("POST", "/runs", mustJSON(create(c, nil))), http.StatusAccepted)
	child := uuid.New()
	body := mustJSON(map[string]any{
		"post": []any{
			create(a, nil),
			create(b, nil),
			create(child, map[string]any{"parent_run_id": a, "trace_id": a, "run_type": "llm",
				"dotted_order": runs.DottedOrderPart(t0, a) + "." + runs.DottedOrderPart(t0.Add(time.Millisecond), child),
				"start_time":   ts(time.Millisecond)}),
		},
		"patch": []any{
			ended(a, map[string]any{"error": "boom"}),
			ended(c, nil),
			without(ended(child, map[string]any{"trace_id": a,
				"outputs": map[string]any{"llm_output": map[string]any{"token_usage": map[string]any{"prompt_tokens": 7, "completion_tokens": 3}}}}), "dotted_order"),
		},
	})
	s.want(s.do("POST", "/runs/batch", body), http.StatusAccepted)
	if runRows, _ := s.counts(); runRows != 5 {
		t.Errorf("%d versions stored, want 5: one per run of the batch and c's two", runRows)
	}
	if r := s.latest(a); r.Status != "error" || r.Error == nil || *r.Error != "boom" || r.EndTime == nil || r.Inputs == nil {
		t.Errorf("a: %+v", r)
	}
	if r := s.latest(b); r.Status != "pending" || r.EndTime != nil {
		t.Errorf("b: %+v", r)
	}
	if r := s.latest(c); r.Status != "success" || r.Inputs == nil || r.Outputs == nil {
		t.Errorf("c (created before, patched in the batch): %+v", r)
	}
	r := s.latest(child)
	if r.ParentRunID == nil || *r.ParentRunID != a || r.TraceID != a || r.IsRoot || len(r.ParentRunIDs) != 1 || r.ParentRunIDs[0] != a {
		t.Errorf("child links: parent %v trace %v root %v parents %v", r.ParentRunID, r.TraceID, r.IsRoot, r.ParentRunIDs)
	}
	if r.PromptTokens != 7 || r.CompletionTokens != 3 || r.TotalTokens != 10 {
		t.Errorf("child tokens %d/%d/%d, want 7/3/10 from llm_output.token_usage", r.PromptTokens, r.CompletionTokens, r.TotalTokens)
	}
}

func TestPatchBeforeItsCreate(t *testing.T) {
	s := newServer(t)
	id := uuid.New()
	// A lone PATCH of an unknown run that does not carry the run: 404.
	r := s.want(s.do("PATCH", "/runs/"+id.String(), mustJSON(map[string]any{"end_time": ts(time.Second)})), http.StatusNotFound)
	if r.body["field"] != "id" {
		t.Errorf("lone patch: %s", r.raw)
	}
	// In a batch, the create may be in flight in a parallel request: 425
	// makes the SDKs retry.
	other := uuid.New()
	r = s.want(s.do("POST", "/runs/batch", mustJSON(map[string]any{
		"post": []any{create(other, nil)}, "patch": []any{ended(id, nil)}})), http.StatusTooEarly)
	if r.header.Get("Retry-After") == "" || r.body["field"] != "patch[0]" || !strings.Contains(r.body["error"].(string), id.String()) {
		t.Errorf("orphan patch in a batch: %v %s", r.header, r.raw)
	}
	if runRows, _ := s.counts(); runRows != 0 {
		t.Fatalf("%d runs written by refused requests", runRows)
	}

	// The JS SDK's patches carry the whole run but its inputs: stored as
	// they are. The create arriving later fills in the inputs and does not
	// undo the end.
	jsPatch := create(id, nil)
	delete(jsPatch, "inputs")
	for k, v := range ended(id, nil) {
		jsPatch[k] = v
	}
	s.want(s.do("POST", "/runs/batch", mustJSON(map[string]any{"patch": []any{jsPatch}})), http.StatusAccepted)
	patched := s.latest(id)
	if patched.EndTime == nil || patched.Inputs != nil {
		t.Fatalf("patch stored as %+v", patched)
	}
	s.want(s.do("POST", "/runs/batch", mustJSON(map[string]any{"post": []any{create(id, nil)}})), http.StatusAccepted)
	late := s.latest(id)
	if late.EndTime == nil || late.Status != "success" || late.Inputs == nil || late.Outputs == nil {
		t.Errorf("after the late create: %+v", late)
	}
	if !late.ModifiedAt.After(patched.ModifiedAt) {
		t.Errorf("late create's version does not supersede: %v <= %v", late.ModifiedAt, patched.ModifiedAt)
	}
}

// Creates and patches of the same runs sent in parallel requests, as the
// SDKs' parallel batches can: every run ends up with both halves.
func TestParallelCreatesAndPatchesOfTheSameRuns(t *testing.T) {
	s := newServer(t)
	var ids []uuid.UUID
	var wg sync.WaitGroup
	errs := make(chan string, 200)
	for range 20 {
		id := uuid.New()
		ids = append(ids, id)
		patch := create(id, nil)
		delete(patch, "inputs")
		for k, v := range ended(id, nil) {
			patch[k] = v
		}
		for _, body := range [][]byte{
			mustJSON(map[string]any{"post": []any{create(id, nil)}}),
			mustJSON(map[string]any{"patch": []any{patch}}),
		} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if r := s.do("POST", "/runs/batch", body); r.status != http.StatusAccepted {
					errs <- fmt.Sprintf("%d %s", r.status, r.raw)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	for _, id := range ids {
		if r := s.latest(id); r.EndTime == nil || r.Inputs == nil || r.Outputs == nil {
			t.Errorf("run %s: end %v inputs %s outputs %s", id, r.EndTime, r.Inputs, r.Outputs)
		}
	}
}

// multipartBody builds a multipart body from (name, content) pairs the way
// the SDKs do: a JSON part per run, its large fields and feedback apart.
func multipartBody(t *testing.T, parts ...string) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for i := 0; i+1 < len(parts); i += 2 {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"`, parts[i]))
		h.Set("Content-Type", fmt.Sprintf("application/json; length=%d", len(parts[i+1])))
		p, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = p.Write([]byte(parts[i+1]))
	}
	_ = w.Close()
	return b.Bytes(), w.FormDataContentType()
}

func without(m map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		delete(m, k)
	}
	return m
}

func TestMultipartWithFieldPartsFeedbackAndAttachments(t *testing.T) {
	s := newServer(t)
	a, b := uuid.New(), uuid.New()
	fb := uuid.New()
	body, ctype := multipartBody(t,
		"post."+a.String(), string(mustJSON(without(create(a, nil), "inputs"))),
		"post."+a.String()+".inputs", `{"question": "multipart"}`,
		"post."+a.String()+".extra", `{"metadata": {"env": "prod"}}`,
		"patch."+a.String(), string(mustJSON(without(ended(a, nil), "outputs"))),
		"patch."+a.String()+".outputs", `{"answer": "from a part"}`,
		"post."+b.String(), string(mustJSON(create(b, nil))),
		"attachment."+b.String()+".image", "not json at all",
		"feedback."+fb.String(), string(mustJSON(map[string]any{"id": fb, "run_id": a, "key": "usefulness", "score": 0.5,
			"feedback_source": map[string]any{"type": "api"}})),
	)
	r := s.want(s.do("POST", "/runs/multipart", body, "Content-Type", ctype), http.StatusAccepted)
	if len(r.body) != 0 {
		t.Errorf("no run asked for a webhook, yet the answer is %s", r.raw)
	}
	run := s.latest(a)
	if string(run.Inputs) != `{"question":"multipart"}` || string(run.Outputs) != `{"answer":"from a part"}` || run.EndTime == nil {
		t.Errorf("a: inputs %s outputs %s end %v", run.Inputs, run.Outputs, run.EndTime)
	}
	if !strings.Contains(string(run.Extra), `"env":"prod"`) {
		t.Errorf("a: extra %s", run.Extra)
	}
	if runRows, fbRows := s.counts(); runRows != 2 || fbRows != 1 {
		t.Errorf("%d run rows and %d feedback rows, want 2 and 1", runRows, fbRows)
	}
	got := s.feedbackOn(a)
	if len(got) != 1 || got[0].ID != fb || got[0].TraceID == nil || *got[0].TraceID != a || got[0].SessionID == nil ||
		*got[0].SessionID != runs.ProjectID("api-tests") {
		t.Errorf("feedback %+v: want its run's trace and project filled in", got)
	}
	if !strings.Contains(s.logs.String(), `"attachments_dropped":1`) {
		t.Errorf("dropped attachment not in the log:\n%s", s.logs.String())
	}
}

func gzipped(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	_, _ = w.Write(b)
	_ = w.Close()
	return out.Bytes()
}

func zstded(b []byte) []byte {
	enc, _ := zstd.NewWriter(nil)
	defer enc.Close()
	return enc.EncodeAll(b, nil)
}

func TestCompressedBodies(t *testing.T) {
	s := newServer(t)
	a, b, c := uuid.New(), uuid.New(), uuid.New()
	body, ctype := multipartBody(t, "post."+a.String(), string(mustJSON(create(a, nil))))
	s.want(s.do("POST", "/runs/multipart", gzipped(body), "Content-Type", ctype, "Content-Encoding", "gzip"), http.StatusAccepted)
	body, ctype = multipartBody(t, "post."+b.String(), string(mustJSON(create(b, nil))))
	s.want(s.do("POST", "/runs/multipart", zstded(body), "Content-Type", ctype, "Content-Encoding", "zstd"), http.StatusAccepted)
	s.want(s.do("POST", "/runs/batch", gzipped(mustJSON(map[string]any{"post": []any{create(c, nil)}})), "Content-Encoding", "gzip"), http.StatusAccepted)
	for _, id := range []uuid.UUID{a, b, c} {
		s.latest(id)
	}
	if !strings.Contains(s.logs.String(), `"encoding":"zstd"`) || !strings.Contains(s.logs.String(), `"encoding":"gzip"`) {
		t.Errorf("encodings not logged:\n%s", s.logs.String())
	}

	d := mustJSON(map[string]any{"post": []any{create(uuid.New(), nil)}})
	s.want(s.do("POST", "/runs/batch", gzipped(d), "Content-Encoding", "br"), http.StatusUnsupportedMediaType)
	s.want(s.do("POST", "/runs/batch", d, "Content-Encoding", "gzip"), http.StatusBadRequest)
	s.want(s.do("POST", "/runs/batch", []byte("garbage"), "Content-Encoding", "zstd"), http.StatusBadRequest)
	if runRows, _ := s.counts(); runRows != 3 {
		t.Errorf("%d runs stored, want 3", runRows)
	}
}

func TestOversizeBodiesAre413(t *testing.T) {
	s := newServer(t, func(o *api.Options) { o.MaxBodyBytes = 4096 })
	big := create(uuid.New(), map[string]any{"inputs": map[string]any{"text": strings.Repeat("x", 5000)}})
	body := mustJSON(map[string]any{"post": []any{big}})
	s.want(s.do("POST", "/runs/batch", body), http.StatusRequestEntityTooLarge)
	// Small on the wire, too large once decompressed.
	if z := gzipped(body); len(z) > 4096 {
		t.Fatalf("gzip body %d bytes, want under the limit", len(z))
	}
	s.want(s.do("POST", "/runs/batch", gzipped(body), "Content-Encoding", "gzip"), http.StatusRequestEntityTooLarge)
	s.want(s.do("POST", "/runs/batch", zstded(body), "Content-Encoding", "zstd"), http.StatusRequestEntityTooLarge)
	if runRows, _ := s.counts(); runRows != 0 {
		t.Errorf("%d runs stored from oversize bodies", runRows)
	}
	small := create(uuid.New(), nil)
	s.want(s.do("POST", "/runs/batch", mustJSON(map[string]any{"post": []any{small}})), http.StatusAccepted)
}

func TestBadBodiesNameTheFieldAndWriteNothing(t *testing.T) {
	s := newServer(t)
	good := func() map[string]any { return create(uuid.New(), nil) }
	id := uuid.New()
	fb := uuid.New()
	batch := func(post []any, patch []any) []byte {
		return mustJSON(map[string]any{"post": post, "patch": patch})
	}
	type tc struct {
		name, method, path string
		body               []byte
		ctype              string
		status             int
		field              string
	}
	cases := []tc{
		{"bad timestamp", "POST", "/runs/batch", batch([]any{good(), create(id, map[string]any{"start_time": "yesterday"})}, nil), "", 422, "post[1].start_time"},
		{"missing name", "POST", "/runs/batch", batch([]any{without(good(), "name")}, nil), "", 422, "post[0].name"},
		{"bad run type", "POST", "/runs/batch", batch([]any{create(id, map[string]any{"run_type": "agent"})}, nil), "", 422, "post[0].run_type"},
		{"end before start", "POST", "/runs/batch", batch([]any{create(id, nil)}, []any{ended(id, map[string]any{"end_time": ts(-time.Hour)})}), "", 422, "patch[0].end_time"},
		{"bad token count", "POST", "/runs/batch", batch([]any{good()}, []any{ended(id, map[string]any{"total_tokens": -3})}), "", 422, "patch[0].total_tokens"},
		{"id not a UUID", "POST", "/runs/batch", batch([]any{good(), create(id, map[string]any{"id": "run-1"})}, nil), "", 422, "post[1].id"},
		{"post not an array", "POST", "/runs/batch", []byte(`{"post": {"id": 1}}`), "", 400, "post"},
		{"item not an object", "POST", "/runs/batch", []byte(`{"post": [1]}`), "", 400, "post[0]"},
		{"not JSON", "POST", "/runs/batch", []byte(`{"post": [`), "", 400, ""},
		{"empty project name", "POST", "/runs", mustJSON(create(id, map[string]any{"session_name": ""})), "", 422, "session_name"},
		{"webhook not a string", "POST", "/runs", mustJSON(create(id, map[string]any{"webhook": 7})), "", 422, "webhook"},
		{"webhook on a patch", "POST", "/runs/batch", batch([]any{good()}, []any{ended(id, map[string]any{"webhook": "http://127.0.0.1/x"})}), "", 422, "patch[0].webhook"},
		{"id differs from path", "PATCH", "/runs/" + id.String(), mustJSON(ended(uuid.New(), nil)), "", 422, "id"},
		{"feedback without key", "POST", "/feedback", mustJSON(map[string]any{"run_id": id}), "", 422, "key"},
		{"feedback string score", "POST", "/feedback", mustJSON(map[string]any{"run_id": id, "key": "k", "score": "high"}), "", 422, "score"},
	}
	mp := func(name string, parts ...string) tc {
		first := uuid.New()
		body, ctype := multipartBody(t, append([]string{"post." + first.String(), string(mustJSON(create(first, nil)))}, parts...)...)
		return tc{name: "multipart " + name, method: "POST", path: "/runs/multipart", body: body, ctype: ctype, status: 422}
	}
	c := mp("inputs not an object", "post."+id.String(), string(mustJSON(without(create(id, nil), "inputs"))), "post."+id.String()+".inputs", `[1]`)
	c.field = "post." + id.String() + ".inputs"
	cases = append(cases, c)
	c = mp("field part before its run", "patch."+id.String()+".outputs", `{}`)
	c.field = "patch." + id.String() + ".outputs"
	cases = append(cases, c)
	c = mp("unknown part", "run."+id.String(), `{}`)
	c.field = "run." + id.String()
	cases = append(cases, c)
	c = mp("unknown field part", "post."+id.String(), string(mustJSON(create(id, nil))), "post."+id.String()+".secrets", `{}`)
	c.field = "post." + id.String() + ".secrets"
	cases = append(cases, c)
	c = mp("bad feedback", "feedback."+fb.String(), string(mustJSON(map[string]any{"run_id": id, "key": "k", "score": []int{1}})))
	c.field = "feedback." + fb.String() + ".score"
	cases = append(cases, c)
	c = mp("feedback id differs", "feedback."+fb.String(), string(mustJSON(map[string]any{"id": uuid.New(), "run_id": id, "key": "k"})))
	c.field = "feedback." + fb.String() + ".id"
	cases = append(cases, c)
	c = mp("run id differs", "post."+id.String(), string(mustJSON(create(uuid.New(), nil))))
	c.field = "post." + id.String() + ".id"
	cases = append(cases, c)
	c = mp("patch to a run with bad end", "patch."+id.String(), string(mustJSON(ended(id, map[string]any{"end_time": "soon"}))))
	c.field = "patch." + id.String() + ".end_time"
	c.status = 422
	cases = append(cases, c)

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			headers := []string{}
			if c.ctype != "" {
				headers = append(headers, "Content-Type", c.ctype)
			}
			r := s.do(c.method, c.path, c.body, headers...)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.raw)
			}
			msg, _ := r.body["error"].(string)
			field, _ := r.body["field"].(string)
			if field != c.field || msg == "" || (c.field != "" && !strings.HasPrefix(msg, c.field+": ")) {
				t.Errorf("field %q error %q, want field %q named in the message", field, msg, c.field)
			}
		})
	}
	if runRows, fbRows := s.counts(); runRows != 0 || fbRows != 0 {
		t.Errorf("refused requests wrote %d runs and %d feedback", runRows, fbRows)
	}
}

func TestFeedbackCreate(t *testing.T) {
	s := newServer(t)
	run := uuid.New()
	s.want(s.do("POST", "/runs", mustJSON(create(run, nil))), http.StatusAccepted)
	fb := uuid.New()
	r := s.want(s.do("POST", "/feedback", mustJSON(map[string]any{
		"id": fb, "run_id": run, "key": "correctness", "score": true, "value": "right", "comment": "checked",
		"feedback_source": map[string]any{"type": "api", "metadata": map[string]any{}}, "feedbackConfig": nil,
	})), http.StatusOK)
	if r.body["id"] != fb.String() || r.body["score"] != 1.0 || r.body["trace_id"] != run.String() ||
		r.body["session_id"] != runs.ProjectID("api-tests").String() {
		t.Errorf("answer %s", r.raw)
	}
	// No id: one is made, as LangSmith does.
	r = s.want(s.do("POST", "/feedback", mustJSON(map[string]any{"run_id": run, "key": "k", "score": 0.25})), http.StatusOK)
	if _, err := uuid.Parse(fmt.Sprint(r.body["id"])); err != nil {
		t.Errorf("no id made: %s", r.raw)
	}
	got := s.feedbackOn(run)
	if len(got) != 2 {
		t.Fatalf("%d feedback stored, want 2", len(got))
	}
	for _, f := range got {
		if f.ID == fb && (f.Comment == nil || *f.Comment != "checked" || string(f.Value) != `"right"` || *f.Score != 1) {
			t.Errorf("feedback %+v", f)
		}
	}
}

// The JS SDK writes start_time with the run's order in its trace as the
// microseconds and end_time in milliseconds.
func TestEndInTheMillisecondOfTheStart(t *testing.T) {
	s := newServer(t)
	id := uuid.New()
	start := t0.Add(3 * time.Microsecond)
	run := create(id, map[string]any{"start_time": start.Format("2006-01-02T15:04:05.000000Z"), "end_time": t0.UnixMilli()})
	s.want(s.do("POST", "/runs", mustJSON(run)), http.StatusAccepted)
	if got := s.latest(id); got.EndTime == nil || !got.EndTime.Equal(start) {
		t.Errorf("end_time %v, want the start %v", got.EndTime, start)
	}
	run = create(uuid.New(), map[string]any{"end_time": t0.Add(-time.Millisecond).UnixMilli()})
	s.want(s.do("POST", "/runs", mustJSON(run)), http.StatusUnprocessableEntity)
}

func TestPresignedIsMountedWithoutAuth(t *testing.T) {
	s := newServer(t)
	s.want(s.do("GET", "/presigned/abc", nil, "x-api-key", ""), http.StatusNotFound)
	served := newServer(t, func(o *api.Options) {
		o.Presigned = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "doc "+r.URL.Path)
		})
	})
	r := served.want(served.do("GET", "/presigned/abc?sig=x", nil, "x-api-key", ""), http.StatusOK)
	if string(r.raw) != "doc /presigned/abc" {
		t.Errorf("presigned answered %q", r.raw)
	}
	if strings.Contains(served.logs.String(), "sig=x") {
		t.Errorf("query string logged:\n%s", served.logs.String())
	}
}
