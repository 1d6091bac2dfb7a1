package api

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/runhook/runhook/internal/runs"
)

// zstdMaxWindow is the largest window a zstd body may use: the JS SDK's
// LANGSMITH_RUN_COMPRESSION_WINDOW_LOG goes up to 27. A larger declared
// window is refused before the decoder allocates it.
const zstdMaxWindow = 1 << 27

// A zstd decoder allocates the window its frame declares before it reads a
// byte of data, so a frame of a few bytes could make the server allocate up
// to api.max_body_bytes. The window is therefore also held to zstdMaxRatio
// times the compressed body (at least zstdMinWindow): a window larger than
// the content is never needed, and JSON does not compress a thousandfold,
// so an honest body always fits, and a body costs at most about what a gzip
// body of its size can expand to.
const (
	zstdMaxRatio  = 1024
	zstdMinWindow = 1 << 20
)

// zstdWindow is the largest window a zstd body of n compressed bytes may
// declare.
func (h *handler) zstdWindow(n int) int64 {
	return min(max(int64(n)*zstdMaxRatio, zstdMinWindow), zstdMaxWindow, h.maxBody+1)
}

// readBody reads the whole body, decompressed as its Content-Encoding says
// (the SDKs send gzip or zstd when /info allows it). Both the bytes on the wire
// and the decompressed bytes are capped at api.max_body_bytes: a small
// compressed body must not expand into an unbounded one.
func (h *handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	raw := http.MaxBytesReader(w, r.Body, h.maxBody)
	defer raw.Close()
	var body io.Reader = raw
	var window int64 // the zstd window allowed
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	requestStats(r).encoding = enc
	switch enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(raw)
		if err != nil {
			if tooLarge(err) {
				return nil, h.tooLarge()
			}
			return nil, badRequest("", "body is not valid gzip: %v", err)
		}
		defer zr.Close()
		body = zr
	case "zstd":
		// Read whole first (within api.max_body_bytes): the window allowed
		// depends on the compressed size.
		compressed, err := io.ReadAll(raw)
		if err != nil {
			if tooLarge(err) {
				return nil, h.tooLarge()
			}
			return nil, badRequest("", "read body: %v", err)
		}
		window = h.zstdWindow(len(compressed))
		zr, err := zstd.NewReader(bytes.NewReader(compressed), zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxWindow(uint64(window)), zstd.WithDecoderMaxMemory(uint64(h.maxBody)+1))
		if err != nil {
			return nil, internal("zstd decoder", err)
		}
		defer zr.Close()
		body = zr
	default:
		return nil, &apiError{status: http.StatusUnsupportedMediaType,
			msg: fmt.Sprintf("Content-Encoding %q is not supported (gzip, zstd or none)", enc)}
	}
	data, err := io.ReadAll(io.LimitReader(body, h.maxBody+1))
	if err != nil {
		if tooLarge(err) || errors.Is(err, zstd.ErrDecoderSizeExceeded) {
			return nil, h.tooLarge()
		}
		if errors.Is(err, zstd.ErrWindowSizeExceeded) {
			return nil, badRequest("", "zstd window is larger than %d KiB, the most a body of this size may declare: compress with a smaller window", window>>10)
		}
		return nil, badRequest("", "read body: %v", err)
	}
	if int64(len(data)) > h.maxBody {
		return nil, h.tooLarge()
	}
	return data, nil
}

func tooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

func (h *handler) tooLarge() *apiError {
	return &apiError{status: http.StatusRequestEntityTooLarge,
		msg: fmt.Sprintf("request body is larger than api.max_body_bytes (%d bytes); send smaller batches", h.maxBody)}
}

// parseObject reads a JSON object of a request; label names it in the error.
// readObject reads a request body that is one JSON object.
func (h *handler) readObject(w http.ResponseWriter, r *http.Request) (runs.Object, *apiError) {
	data, e := h.readBody(w, r)
	if e != nil {
		return nil, e
	}
	return parseObject("", data)
}

func parseObject(label string, data []byte) (runs.Object, *apiError) {
	o, err := runs.ParseObject(data)
	if err != nil {
		return nil, badRequest(label, "%v", err)
	}
	return o, nil
}
