// Package metrics exposes runhook's Prometheus metrics: delivery outcomes,
// attempt classes and attempt durations, beside the Go runtime and process
// collectors. Label values come from fixed vocabularies only, so a URL, a
// header or an error text can never reach a label (nor multiply series).
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Classes are the attempt classes of internal/delivery (delivery.Classes),
// repeated here so that the sender can import this package.
var Classes = []string{"delivered", "connect_error", "server_error", "timeout", "client_error", "redirect", "refused", "invalid"}

// Outcomes are the final outcomes of a delivery, as delivery_outcomes stores them.
var Outcomes = []string{"delivered", "failed", "skipped"}

// AlertTypes are the events of internal/alerts, repeated here for the same
// reason as Classes.
var AlertTypes = []string{"rule.paused", "delivery.failed", "run_webhook.expired"}

// Other stands in for any label value outside its vocabulary: the event is
// still counted, and whatever the value held is not exported.
const Other = "other"

// DurationBuckets (seconds) resolve healthy receivers below 100 ms, then step
// by a second up to the 5 s delivery timeout so receivers drifting towards it
// show, with room above for attempts that ran into it.
var DurationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 4, 5, 6, 10}

// Metrics holds runhook's collectors on a registry of its own, so nothing a
// library registers globally is exported by accident. A nil *Metrics records
// nothing, for code that runs without metrics (tests).
type Metrics struct {
	registry   *prometheus.Registry
	deliveries *prometheus.CounterVec
	attempts   *prometheus.CounterVec
	duration   prometheus.Histogram
	alerts     *prometheus.CounterVec
	alertFails *prometheus.CounterVec
	profiles   bool
}

// New registers every collector on a fresh registry.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "runhook_deliveries_total",
			Help: "Deliveries by final outcome (delivered, failed, skipped).",
		}, []string{"outcome"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "runhook_delivery_attempts_total",
			Help: "Delivery attempts (HTTP requests) by class.",
		}, []string{"class"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "runhook_delivery_attempt_duration_seconds",
			Help:    "Duration of delivery attempts, from sending to the end of the response.",
			Buckets: DurationBuckets,
		}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "runhook_alerts_total",
			Help: "Alerts raised (sent to alerts.url), by event type.",
		}, []string{"type"}),
		alertFails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "runhook_alerts_failed_total",
			Help: "Alerts that could not be delivered to alerts.url after their last attempt, by event type.",
		}, []string{"type"}),
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.deliveries, m.attempts, m.duration, m.alerts, m.alertFails,
	)
	// Every known series exists from the start at 0, so a rate over it is
	// defined before the first event.
	for _, o := range Outcomes {
		m.deliveries.WithLabelValues(o)
	}
	for _, c := range Classes {
		m.attempts.WithLabelValues(c)
	}
	for _, t := range AlertTypes {
		m.alerts.WithLabelValues(t)
		m.alertFails.WithLabelValues(t)
	}
	return m
}

func known(vocabulary []string, v string) string {
	if slices.Contains(vocabulary, v) {
		return v
	}
	return Other
}

// Attempt records one attempt of a class of Classes and its duration.
func (m *Metrics) Attempt(class string, d time.Duration) {
	if m == nil {
		return
	}
	m.attempts.WithLabelValues(known(Classes, class)).Inc()
	m.duration.Observe(max(d, 0).Seconds())
}

// Delivery records a delivery's final outcome, one of Outcomes.
func (m *Metrics) Delivery(outcome string) {
	if m == nil {
		return
	}
	m.deliveries.WithLabelValues(known(Outcomes, outcome)).Inc()
}

// Alert records an alert raised, of a type of AlertTypes.
func (m *Metrics) Alert(typ string) {
	if m == nil {
		return
	}
	m.alerts.WithLabelValues(known(AlertTypes, typ)).Inc()
}

// AlertFailed records an alert whose last attempt failed: nobody was told.
func (m *Metrics) AlertFailed(typ string) {
	if m == nil {
		return
	}
	m.alertFails.WithLabelValues(known(AlertTypes, typ)).Inc()
}

// Registry is where further collectors go, to be served with the rest.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Handler serves /metrics in the Prometheus exposition formats and /healthz,
// which answers 200 while the process serves at all.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	if m.profiles {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// ServeProfiles makes Handler serve net/http/pprof under /debug/pprof/
// (metrics.profiles), which the soak reads to tell a goroutine leak from
// work in flight.
func (m *Metrics) ServeProfiles() {
	if m != nil {
		m.profiles = true
	}
}

// Serve serves Handler on addr until ctx is done, then shuts down and
// returns nil. An empty addr disables it: Serve returns nil at once. A port
// already taken is an error straight away, not a silent absence of metrics.
func (m *Metrics) Serve(ctx context.Context, addr string) error {
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return m.serve(ctx, ln)
}

// shutdownGrace bounds how long a scrape in progress may delay shutdown.
const shutdownGrace = 5 * time.Second

func (m *Metrics) serve(ctx context.Context, ln net.Listener) error {
	// A client that never finishes its headers must not hold a connection forever.
	srv := &http.Server{Handler: m.Handler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("metrics on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("metrics on %s: shutdown: %w", ln.Addr(), err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics on %s: %w", ln.Addr(), err)
	}
	return nil
}
