package metrics

import (
	"context"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// scrape reads /metrics as Prometheus would and parses the text format.
func scrape(t *testing.T, base string) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	status, body := get(t, base+"/metrics")
	if status != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", status, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return families, body
}

// counts maps each label value of a one-label counter to its value.
func counts(t *testing.T, f *dto.MetricFamily, label string) map[string]float64 {
	t.Helper()
	if f == nil {
		t.Fatal("family missing")
	}
	out := map[string]float64{}
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != 1 || m.GetLabel()[0].GetName() != label {
			t.Fatalf("%s has labels %v, want only %s", f.GetName(), m.GetLabel(), label)
		}
		out[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
	}
	return out
}

func TestScrape(t *testing.T) {
	m := New()
	const secretURL = "https://user:hunter2@hooks.example.com/hook?token=s3cr3t"
	m.Attempt("delivered", 120*time.Millisecond)
	m.Attempt("delivered", 30*time.Millisecond)
	m.Attempt("timeout", 5*time.Second)
	m.Attempt(secretURL, time.Second) // a caller's mistake: counted, not exported
	m.Attempt("server_error", -time.Second)
	m.Delivery("delivered")
	m.Delivery("failed")
	m.Delivery("failed")
	m.Delivery("Authorization: Bearer s3cr3t")

	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	families, body := scrape(t, srv.URL)

	for _, leak := range []string{"hunter2", "s3cr3t", "hooks.example.com", "Bearer"} {
		if strings.Contains(body, leak) {
			t.Errorf("/metrics exports %q", leak)
		}
	}

	wantDeliveries := map[string]float64{"delivered": 1, "failed": 2, "skipped": 0, Other: 1}
	if got := counts(t, families["runhook_deliveries_total"], "outcome"); !mapsEqual(got, wantDeliveries) {
		t.Errorf("runhook_deliveries_total = %v, want %v", got, wantDeliveries)
	}
	wantAttempts := map[string]float64{Other: 1}
	for _, c := range Classes {
		wantAttempts[c] = 0
	}
	wantAttempts["delivered"], wantAttempts["timeout"], wantAttempts["server_error"] = 2, 1, 1
	if got := counts(t, families["runhook_delivery_attempts_total"], "class"); !mapsEqual(got, wantAttempts) {
		t.Errorf("runhook_delivery_attempts_total = %v, want %v", got, wantAttempts)
	}

	f := families["runhook_delivery_attempt_duration_seconds"]
	if f == nil || f.GetType() != dto.MetricType_HISTOGRAM || len(f.GetMetric()) != 1 {
		t.Fatalf("runhook_delivery_attempt_duration_seconds = %v, want one unlabelled histogram", f)
	}
	h := f.GetMetric()[0].GetHistogram()
	if len(f.GetMetric()[0].GetLabel()) != 0 {
		t.Errorf("histogram has labels %v", f.GetMetric()[0].GetLabel())
	}
	if h.GetSampleCount() != 5 || math.Abs(h.GetSampleSum()-6.15) > 1e-9 {
		t.Errorf("histogram count %d sum %v, want 5 and 6.15 (a negative duration as 0)", h.GetSampleCount(), h.GetSampleSum())
	}
	cumulative := map[float64]uint64{}
	for _, b := range h.GetBucket() {
		cumulative[b.GetUpperBound()] = b.GetCumulativeCount()
	}
	// 0 and 30 ms; 120 ms; 1 s; 5 s (bounds are inclusive).
	for le, want := range map[float64]uint64{0.005: 1, 0.05: 2, 0.25: 3, 1: 4, 4: 4, 5: 5, 10: 5} {
		if cumulative[le] != want {
			t.Errorf("bucket le=%v holds %d, want %d", le, cumulative[le], want)
		}
	}

	// The runtime and process collectors are there; nothing else is.
	for _, name := range []string{"go_goroutines", "go_memstats_alloc_bytes", "process_cpu_seconds_total", "process_resident_memory_bytes"} {
		if families[name] == nil {
			t.Errorf("%s missing", name)
		}
	}
	for name := range families {
		if !strings.HasPrefix(name, "runhook_") && !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") {
			t.Errorf("unexpected family %s", name)
		}
	}
}

func mapsEqual(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestFreshSeries(t *testing.T) {
	srv := httptest.NewServer(New().Handler())
	defer srv.Close()
	families, _ := scrape(t, srv.URL)
	outcomes := counts(t, families["runhook_deliveries_total"], "outcome")
	classes := counts(t, families["runhook_delivery_attempts_total"], "class")
	for _, o := range Outcomes {
		if v, ok := outcomes[o]; !ok || v != 0 {
			t.Errorf("outcome %s: %v, %v; want a series at 0", o, v, ok)
		}
	}
	for _, c := range Classes {
		if v, ok := classes[c]; !ok || v != 0 {
			t.Errorf("class %s: %v, %v; want a series at 0", c, v, ok)
		}
	}
	if _, ok := classes[Other]; ok {
		t.Error(`"other" exists before anything was normalised`)
	}
}

func TestHealthz(t *testing.T) {
	srv := httptest.NewServer(New().Handler())
	defer srv.Close()
	if status, body := get(t, srv.URL+"/healthz"); status != http.StatusOK || body != "ok\n" {
		t.Errorf("GET /healthz = %d %q", status, body)
	}
	if status, _ := get(t, srv.URL+"/"); status != http.StatusNotFound {
		t.Errorf("GET / = %d, want 404", status)
	}
}

func TestProfilesOnlyWhenAsked(t *testing.T) {
	off := httptest.NewServer(New().Handler())
	defer off.Close()
	if status, _ := get(t, off.URL+"/debug/pprof/goroutine?debug=1"); status != http.StatusNotFound {
		t.Errorf("profiles not asked for: GET /debug/pprof/goroutine = %d, want 404", status)
	}
	m := New()
	m.ServeProfiles()
	on := httptest.NewServer(m.Handler())
	defer on.Close()
	status, body := get(t, on.URL+"/debug/pprof/goroutine?debug=1")
	if status != http.StatusOK || !strings.HasPrefix(body, "goroutine profile: total ") {
		t.Errorf("GET /debug/pprof/goroutine?debug=1 = %d %.40q", status, body)
	}
	if status, _ := get(t, on.URL+"/metrics"); status != http.StatusOK {
		t.Errorf("GET /metrics beside profiles = %d", status)
	}
	var none *Metrics
	none.ServeProfiles()
}

func TestNilRecordsNothing(t *testing.T) {
	var m *Metrics
	m.Attempt("delivered", time.Second)
	m.Delivery("delivered")
}

func TestServeUntilCancelled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := New()
	m.Delivery("skipped")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.serve(ctx, ln) }()

	families, _ := scrape(t, "http://"+ln.Addr().String())
	if got := counts(t, families["runhook_deliveries_total"], "outcome")["skipped"]; got != 1 {
		t.Errorf("skipped = %v, want 1", got)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return after its context was cancelled")
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("still listening after serve returned")
	}
}

func TestServeAddr(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := New().Serve(ctx, ""); err != nil {
		t.Errorf("Serve with no address = %v, want nil (disabled)", err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	if err := New().Serve(ctx, taken.Addr().String()); err == nil || !strings.Contains(err.Error(), taken.Addr().String()) {
		t.Errorf("Serve on a taken port = %v, want an error naming it", err)
	}
}

// The vocabularies are closed: the label sets stay small and fixed.
func TestVocabularies(t *testing.T) {
	for _, v := range [][]string{Classes, Outcomes} {
		if slices.Contains(v, Other) {
			t.Errorf("%v contains %q", v, Other)
		}
		if got := known(v, v[0]+" "); got != Other {
			t.Errorf("known(%q) = %q", v[0]+" ", got)
		}
	}
}
