package api_test

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/api"
	"github.com/runhook/runhook/internal/runs"
)

// memStore is an in-memory api.Store for fuzzing: it keeps nothing, and
// always holds one stored run (storedRun), so that writes of that id merge
// over a stored version.
type memStore struct{ stored runs.Run }

func (m *memStore) InsertRuns(context.Context, []runs.Run) error          { return nil }
func (m *memStore) InsertFeedback(context.Context, []runs.Feedback) error { return nil }
func (m *memStore) InsertRunWrites(context.Context, []runs.Write) error   { return nil }

// RunWrites logs nothing: the stored run is folded in as a base.
func (m *memStore) RunWrites(context.Context, []uuid.UUID) (map[uuid.UUID][]runs.Write, error) {
	return map[uuid.UUID][]runs.Write{}, nil
}

func (m *memStore) StoredRunIDs(_ context.Context, ids []uuid.UUID) ([]uuid.UUID, error) {
	if slices.Contains(ids, m.stored.ID) {
		return []uuid.UUID{m.stored.ID}, nil
	}
	return nil, nil
}

func (m *memStore) LatestRuns(_ context.Context, ids []uuid.UUID) ([]runs.Run, error) {
	if slices.Contains(ids, m.stored.ID) {
		return []runs.Run{m.stored}, nil
	}
	return nil, nil
}

const (
	fuzzBoundary = "fuzzboundary0123456789"
	// fuzzMaxBody is the handler's api.max_body_bytes: above the fuzzer's
	// largest inputs, so that they reach the parser.
	fuzzMaxBody = 1 << 20
	storedRunID = "0190a1b2-0000-7000-8000-0000000000a1"
	newRunID    = "0190a1b2-0000-7000-8000-0000000000b2"
	feedbackID  = "0190a1b2-0000-7000-8000-0000000000f1"
)

// fuzzParts builds a multipart body with the fixed boundary from (name,
// content) pairs, as the SDKs write them.
func fuzzParts(parts ...string) []byte {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	if err := w.SetBoundary(fuzzBoundary); err != nil {
		panic(err)
	}
	for i := 0; i+1 < len(parts); i += 2 {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"`, parts[i]))
		h.Set("Content-Type", fmt.Sprintf("application/json; length=%d", len(parts[i+1])))
		p, _ := w.CreatePart(h)
		_, _ = p.Write([]byte(parts[i+1]))
	}
	_ = w.Close()
	return b.Bytes()
}

func multipartSeeds() [][]byte {
	createJSON := func(id string) string {
		return `{"id":"` + id + `","name":"agent","run_type":"chain","start_time":"2024-04-05T01:28:54.085646Z",` +
			`"session_name":"fuzz","inputs":{"question":"a < b & c"},"trace_id":"` + id + `"}`
	}
	endJSON := `{"end_time":"2024-04-05T01:28:56.1Z","outputs":{"answer":"42"}}`
	return [][]byte{
		fuzzParts("post."+newRunID, createJSON(newRunID)),
		fuzzParts(
			"post."+newRunID, `{"name":"agent","run_type":"llm","start_time":1712280534085,"session_name":"fuzz"}`,
			"post."+newRunID+".inputs", `{"question": "multipart"}`,
			"post."+newRunID+".extra", `{"metadata": {"env": "prod"}}`,
			"patch."+newRunID, endJSON,
			"patch."+newRunID+".outputs", `{"answer": "from a part"}`,
			"attachment."+newRunID+".image", "not json at all",
			"feedback."+feedbackID, `{"run_id":"`+newRunID+`","key":"usefulness","score":0.5,"feedback_source":{"type":"api"}}`,
		),
		fuzzParts("patch."+storedRunID, endJSON, "patch."+storedRunID+".error", `"boom"`),
		fuzzParts("patch."+newRunID, endJSON),
		fuzzParts("post."+newRunID, createJSON(newRunID), "post."+newRunID+".webhook", `"x"`),
		fuzzParts("post."+newRunID, createJSON(storedRunID)),
		fuzzParts("feedback."+feedbackID, `{"id":"`+newRunID+`","run_id":"`+storedRunID+`","key":"k"}`),
		fuzzParts("nothing", "{}"),
		fuzzParts(),
		[]byte("--" + fuzzBoundary + "\r\nContent-Disposition: form-data; name=\"post." + newRunID + "\"\r\n\r\n{"),
		{},
	}
}

type fuzzServer struct {
	h   http.Handler
	key string
}

func newFuzzServer(f testing.TB) *fuzzServer { return newFuzzServerMax(f, fuzzMaxBody) }

func newFuzzServerMax(f testing.TB, maxBody int64) *fuzzServer {
	f.Helper()
	stored, err := runs.DecodeRun([]byte(`{"id":"`+storedRunID+`","session_id":"6a3be6a2-9a8c-4fc8-b4c6-a8983b286cc5",`+
		`"name":"stored","run_type":"chain","start_time":"2024-04-05T01:28:54.085646","inputs":{"q":1},"tags":["a"]}`),
		time.Date(2024, 4, 5, 1, 28, 55, 0, time.UTC))
	if err != nil {
		f.Fatal(err)
	}
	const key = "rhk_fuzz-key"
	return &fuzzServer{key: key, h: api.New(api.Options{
		Store: &memStore{stored: stored}, KeyHashes: []string{api.HashKey(key)}, MaxBodyBytes: maxBody,
		Now: func() time.Time { return time.Date(2024, 4, 5, 2, 0, 0, 0, time.UTC) },
	})}
}

// post sends body to /runs/multipart and returns the status and the bytes
// allocated while the handler ran.
func (s *fuzzServer) post(body []byte, encoding string) (status int, allocated uint64) {
	req := httptest.NewRequest("POST", "/runs/multipart", bytes.NewReader(body))
	req.Header.Set("x-api-key", s.key)
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+fuzzBoundary)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	w := httptest.NewRecorder()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	s.h.ServeHTTP(w, req)
	runtime.ReadMemStats(&after)
	return w.Code, after.TotalAlloc - before.TotalAlloc
}

// allocBound is what one request of n bytes (decompressed, when it is
// compressed) may allocate. A JSON member costs its map entry, key and raw
// value copy, then again in the merged object and the decoded run. The seeds
// allocate 7 to 65 KiB for 0 to 1.5 KB (TestMultipartAllocations logs it):
// a fixed cost (request, recorder, merging over the stored run) dominates.
// 64 times the size plus 1 MiB leaves a wide margin for that, yet catches a
// body whose cost grows faster than its size, or that makes the handler
// allocate a size it only declares.
func allocBound(n int) uint64 { return 64*uint64(n) + 1<<20 }

// FuzzMultipart sends the body, with a fixed boundary, to POST /runs/multipart
// through the whole handler over an in-memory store: identity-encoded, or
// taken as a gzip or zstd stream. Every body is answered, never with a
// server error (the store does not fail), and within allocBound.
func FuzzMultipart(f *testing.F) {
	for _, s := range multipartSeeds() {
		f.Add(s, uint8(0))
		f.Add(gzipped(s), uint8(1))
		f.Add(zstded(s), uint8(2))
	}
	s := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, body []byte, enc uint8) {
		encoding := []string{"", "gzip", "zstd"}[enc%3]
		status, allocated := s.post(body, encoding)
		if status == 0 || status >= 500 {
			t.Fatalf("status %d for a %d-byte %q body", status, len(body), encoding)
		}
		if encoding == "" && len(body) > fuzzMaxBody && status != http.StatusRequestEntityTooLarge {
			t.Fatalf("a body over the limit answered %d, want 413", status)
		}
		// A compressed body may expand up to api.max_body_bytes.
		n := len(body)
		if encoding != "" {
			n = fuzzMaxBody
		}
		if allocated > allocBound(n) {
			t.Fatalf("a %d-byte %q body (status %d) allocated %d bytes, over %d", len(body), encoding, status, allocated, allocBound(n))
		}
	})
}

// TestMultipartAllocations checks allocBound on the seeds, and that bodies
// over api.max_body_bytes are refused, before or after decompression,
// within the bound of the limit itself.
func TestMultipartAllocations(t *testing.T) {
	s := newFuzzServer(t)
	for i, body := range multipartSeeds() {
		status, allocated := s.post(body, "")
		t.Logf("seed %d: %d bytes, status %d, %d allocated", i, len(body), status, allocated)
		if status >= 500 || allocated > allocBound(len(body)) {
			t.Errorf("seed %d: status %d, %d bytes allocated for %d, over %d", i, status, allocated, len(body), allocBound(len(body)))
		}
	}
	big := fuzzParts("post."+newRunID, `{"inputs":{"x":"`+string(bytes.Repeat([]byte("a"), 2*fuzzMaxBody))+`"}}`)
	for _, c := range []struct {
		name, encoding string
		body           []byte
	}{{"identity", "", big}, {"gzip", "gzip", gzipped(big)}, {"zstd", "zstd", zstded(big)}} {
		status, allocated := s.post(c.body, c.encoding)
		if status != http.StatusRequestEntityTooLarge || allocated > allocBound(fuzzMaxBody) {
			t.Errorf("%s: %d bytes over the limit answered %d and allocated %d, want 413 within %d",
				c.name, len(big), status, allocated, allocBound(fuzzMaxBody))
		}
	}
	// A zstd frame of a few bytes that declares a window (4 MiB: exponent
	// 12 in the window descriptor) over api.max_body_bytes is refused before
	// the decoder allocates the window. One within the limit is allocated:
	// a compressed body costs up to about its limit, as a gzip bomb does.
	tiny := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 12 << 3, 0x11, 0x00, 0x00, '{', '}'}
	if status, allocated := s.post(tiny, "zstd"); status != http.StatusBadRequest || allocated > allocBound(len(tiny)) {
		t.Errorf("a zstd frame declaring a 4 MiB window answered %d and allocated %d, want 400 within %d",
			status, allocated, allocBound(len(tiny)))
	}
}

// With the default api.max_body_bytes (64 MiB), a zstd frame of a few bytes
// declaring a 32 MiB window is refused before the window is allocated: the
// window a body may declare grows with its compressed size, not with the
// limit. A body that declares what its content needs is read.
func TestZstdWindowFollowsTheBodysSize(t *testing.T) {
	s := newFuzzServerMax(t, api.DefaultMaxBodyBytes)
	tiny := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 15 << 3, 0x11, 0x00, 0x00, '{', '}'}
	if status, allocated := s.post(tiny, "zstd"); status != http.StatusBadRequest || allocated > allocBound(len(tiny)) {
		t.Errorf("a zstd frame declaring a 32 MiB window answered %d and allocated %d, want 400 within %d",
			status, allocated, allocBound(len(tiny)))
	}
	for i, body := range multipartSeeds() {
		plain, _ := s.post(body, "")
		if status, _ := s.post(zstded(body), "zstd"); status != plain {
			t.Errorf("seed %d: zstd answered %d, the same body plain %d", i, status, plain)
		}
	}
}
