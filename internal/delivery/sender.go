package delivery

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"time"

	"github.com/runhook/runhook/internal/netguard"
	"github.com/runhook/runhook/internal/signing"
	"github.com/runhook/runhook/internal/version"
)

// drainLimit bounds how much of a response body is read: the body is ignored
// (LangSmith's rule), and a little is read only so that small responses let
// the connection be reused.
const drainLimit = 4 << 10

// Request is one POST.
type Request struct {
	URL       string
	Headers   map[string]string // custom headers, already checked by CheckHeaders
	Body      []byte
	MessageID string // webhook-id: the same on every retry of one delivery
	// SigningKeys sign the request, one webhook-signature each; none: unsigned.
	SigningKeys [][]byte
}

// Result is what one attempt came to. Err is already redacted.
type Result struct {
	Class      Class
	StatusCode int
	Duration   time.Duration
	Err        string
	// RetryAfter is the receiver's Retry-After on a 429 or 503, when it
	// gave a valid one; 0 otherwise. Only `retry: standard` reads it.
	RetryAfter time.Duration
}

// Sender posts webhooks through the SSRF guard.
type Sender struct {
	client  *http.Client
	timeout time.Duration
	signer  signing.Signer
	headers map[string]string
}

// SenderOptions configure NewSender.
type SenderOptions struct {
	// Timeout is how long the receiver has to send response headers.
	Timeout time.Duration
	Guard   netguard.Policy
	// Resolver replaces the system resolver (tests).
	Resolver netguard.Resolver
	// Now replaces the clock used for webhook-timestamp (tests).
	Now func() time.Time
	// Headers go on every request (config webhooks.headers), already
	// checked by CheckHeaders; a request's own header of the same name wins.
	// Their values are secrets: the sender never logs or returns them.
	Headers map[string]string
}

// NewSender builds a sender whose transport never uses a proxy, never follows
// a redirect, and dials only addresses the guard allows.
func NewSender(o SenderOptions) *Sender {
	dialer := &netguard.Dialer{Policy: o.Guard, Resolver: o.Resolver, Timeout: o.Timeout}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   o.Timeout,
		ResponseHeaderTimeout: o.Timeout,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
	}
	return &Sender{
		client: &http.Client{
			Transport:     transport,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		timeout: o.Timeout,
		signer:  signing.Signer{Now: o.Now},
		headers: o.Headers,
	}
}

// Send makes one attempt. It never returns the response body.
func (s *Sender) Send(ctx context.Context, r Request) Result {
	start := time.Now()
	res := s.send(ctx, r)
	res.Duration = time.Since(start)
	return res
}

func (s *Sender) send(ctx context.Context, r Request) Result {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return Result{Class: Invalid, Err: scrub("build request: "+err.Error(), r.URL)}
	}
	for name, value := range s.headers {
		req.Header.Set(name, value)
	}
	for name, value := range r.Headers {
		req.Header.Set(name, value)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "runhook/"+version.Version)
	for name, value := range s.signer.Headers(r.SigningKeys, r.MessageID, r.Body) {
		req.Header.Set(name, value)
	}

	resp, err := s.client.Do(req)
	if err != nil {
		return Result{Class: Classify(0, err), Err: scrub(err.Error(), r.URL)}
	}
	_, _ = io.CopyN(io.Discard, resp.Body, drainLimit)
	resp.Body.Close()
	res := Result{Class: Classify(resp.StatusCode, nil), StatusCode: resp.StatusCode}
	if res.Class != Delivered {
		res.Err = "receiver answered " + resp.Status
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		res.RetryAfter = ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return res
}
