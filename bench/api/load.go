package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/runhook/runhook/bench/internal/rig"
	"github.com/runhook/runhook/bench/internal/synth"
)

// request is one prepared POST: its body is built (and compressed) before the
// clock starts, so the figures time the server, not the client's encoding.
type request struct {
	path        string
	contentType string
	gzip        bool
	body        []byte
	raw         int // the body's length before compression
	runs        int
}

// chunks splits n items into consecutive [lo, hi) ranges of at most size.
func chunks(n, size int) [][2]int {
	var out [][2]int
	for lo := 0; lo < n; lo += size {
		out = append(out, [2]int{lo, min(lo+size, n)})
	}
	return out
}

// batchRequest is POST /runs/batch with the runs as creates, as the SDKs send
// runs that ended before their batch was flushed.
func batchRequest(rs []synth.Run, gz bool) (request, error) {
	body, err := json.Marshal(struct {
		Post []synth.Run `json:"post"`
	}{rs})
	if err != nil {
		return request{}, err
	}
	return finish(request{path: "/runs/batch", contentType: "application/json", runs: len(rs)}, body, gz)
}

// partFields are the members the JS SDK sends as parts of their own
// (post.<id>.inputs ...); the rest of the run is the post.<id> part.
var partFields = []string{"inputs", "outputs", "events"}

// multipartRequest is POST /runs/multipart laid out as the JS SDK lays it out.
func multipartRequest(rs []synth.Run, gz bool) (request, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	part := func(name string, data []byte) error {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q`, name))
		h.Set("Content-Type", fmt.Sprintf("application/json; length=%d", len(data)))
		w, err := mw.CreatePart(h)
		if err == nil {
			_, err = w.Write(data)
		}
		return err
	}
	for _, r := range rs {
		data, err := json.Marshal(r)
		if err != nil {
			return request{}, err
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(data, &obj); err != nil {
			return request{}, err
		}
		fields := map[string]json.RawMessage{}
		for _, f := range partFields {
			fields[f] = obj[f]
			delete(obj, f)
		}
		head, err := json.Marshal(obj)
		if err != nil {
			return request{}, err
		}
		name := "post." + r.ID.String()
		if err := part(name, head); err != nil {
			return request{}, err
		}
		for _, f := range partFields {
			if err := part(name+"."+f, fields[f]); err != nil {
				return request{}, err
			}
		}
	}
	if err := mw.Close(); err != nil {
		return request{}, err
	}
	return finish(request{path: "/runs/multipart", contentType: mw.FormDataContentType(), runs: len(rs)}, buf.Bytes(), gz)
}

func finish(req request, body []byte, gz bool) (request, error) {
	req.raw = len(body)
	if !gz {
		req.body = body
		return req, nil
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(body); err != nil {
		return request{}, err
	}
	if err := zw.Close(); err != nil {
		return request{}, err
	}
	req.body, req.gzip = buf.Bytes(), true
	return req, nil
}

// requests prepares the runs as requests of batch runs each.
func requests(rs []synth.Run, batch int, gz bool, build func([]synth.Run, bool) (request, error)) ([]request, error) {
	var out []request
	for _, c := range chunks(len(rs), batch) {
		req, err := build(rs[c[0]:c[1]], gz)
		if err != nil {
			return nil, err
		}
		out = append(out, req)
	}
	return out, nil
}

// timing is one phase's measurement.
type timing struct {
	runs, calls int
	elapsed     time.Duration
	latencies   []time.Duration // sorted
}

func (t timing) runsPerSec() float64  { return float64(t.runs) / t.elapsed.Seconds() }
func (t timing) callsPerSec() float64 { return float64(t.calls) / t.elapsed.Seconds() }
func (t timing) pct(p float64) time.Duration {
	return rig.Pct(t.latencies, p)
}

// measure calls do(0..n-1) from width goroutines, each taking the next index
// when its last call returned, and times each call and the whole. The first
// error stops it.
func measure(ctx context.Context, n, width int, do func(ctx context.Context, i int) (runs int, err error)) (timing, error) {
	var next atomic.Int64
	var mu sync.Mutex
	lat := make([]time.Duration, 0, n)
	total := 0
	g, ctx := errgroup.WithContext(ctx)
	start := time.Now()
	for range max(width, 1) {
		g.Go(func() error {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return ctx.Err()
				}
				t0 := time.Now()
				k, err := do(ctx, i)
				d := time.Since(t0)
				if err != nil {
					return err
				}
				mu.Lock()
				lat = append(lat, d)
				total += k
				mu.Unlock()
			}
		})
	}
	err := g.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	return timing{runs: total, calls: len(lat), elapsed: elapsed, latencies: lat}, err
}

// post sends one prepared request and wants the 202 the API answers a write with.
func post(ctx context.Context, client *http.Client, base, key string, req request) error {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, base+req.path, bytes.NewReader(req.body))
	if err != nil {
		return err
	}
	hr.Header.Set("x-api-key", key)
	hr.Header.Set("Content-Type", req.contentType)
	if req.gzip {
		hr.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := client.Do(hr)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("POST %s (%d runs): %s: %s", req.path, req.runs, resp.Status, bytes.TrimSpace(body))
	}
	return nil
}

// newClient keeps one connection per request in flight, as an SDK's keep-alive pool does.
func newClient(width int) *http.Client {
	return &http.Client{
		Timeout: 5 * time.Minute,
		Transport: &http.Transport{
			MaxIdleConnsPerHost: width, MaxConnsPerHost: width,
			DisableCompression: true, // the bodies are compressed already when -gzip says so
		},
	}
}
