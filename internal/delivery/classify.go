package delivery

import (
	"context"
	"errors"
	"net"

	"github.com/runhook/runhook/internal/netguard"
)

// Class names what became of one attempt. The non-retryable classes are the
// activity's NonRetryableErrorTypes, so Temporal's retry policy carries out
// LangSmith's rules: connect failures and 5xx are retried, the rest are final.
type Class string

const (
	Delivered    Class = "delivered"     // 2xx
	ConnectError Class = "connect_error" // refused, DNS failure, connect timeout, reset before a response: retried
	ServerError  Class = "server_error"  // 5xx within the timeout: retried
	Timeout      Class = "timeout"       // no response headers within delivery.timeout: final
	ClientError  Class = "client_error"  // 4xx: final
	Redirect     Class = "redirect"      // 3xx, never followed: final
	Refused      Class = "refused"       // the SSRF guard or URL policy said no: final
	Invalid      Class = "invalid"       // a target that cannot be sent to (bad URL, unreadable secret): final
)

// Classes lists every class, for metrics labels and documentation.
var Classes = []Class{Delivered, ConnectError, ServerError, Timeout, ClientError, Redirect, Refused, Invalid}

// NonRetryable lists the classes Temporal must not retry.
var NonRetryable = []string{string(Timeout), string(ClientError), string(Redirect), string(Refused), string(Invalid)}

// Retryable reports whether Temporal should try again after this class.
func (c Class) Retryable() bool { return c == ConnectError || c == ServerError }

// Classify turns an HTTP status (0 when there was no response) and the
// round trip's error into a Class.
func Classify(status int, err error) Class {
	if err != nil {
		return classifyError(err)
	}
	switch {
	case status >= 200 && status < 300:
		return Delivered
	case status >= 300 && status < 400:
		return Redirect
	case status >= 400 && status < 500:
		return ClientError
	case status >= 500 && status < 600:
		return ServerError
	default:
		return Invalid
	}
}

func classifyError(err error) Class {
	if netguard.IsRefused(err) {
		return Refused
	}
	// Anything that failed while dialing never reached the receiver: DNS
	// failures, refused connections and connect timeouts alike.
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return ConnectError
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return ConnectError
	}
	// The connection was there, and the receiver did not answer in time.
	if errors.Is(err, context.DeadlineExceeded) {
		return Timeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return Timeout
	}
	// Anything else failed before a response (EOF, reset, broken pipe, a
	// cancelled context): the request may not have arrived, so it is retried.
	return ConnectError
}
