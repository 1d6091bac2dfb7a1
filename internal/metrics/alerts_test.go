package metrics

import (
	"net/http/httptest"
	"testing"
)

func TestAlerts(t *testing.T) {
	m := New()
	m.Alert("rule.paused")
	m.Alert("delivery.failed")
	m.Alert("delivery.failed")
	m.Alert("https://ops.example/?token=s3cr3t") // not a type: counted as other
	m.AlertFailed("run_webhook.expired")

	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	families, _ := scrape(t, srv.URL)
	raised := counts(t, families["runhook_alerts_total"], "type")
	want := map[string]float64{"rule.paused": 1, "delivery.failed": 2, "run_webhook.expired": 0, Other: 1}
	for typ, n := range want {
		if raised[typ] != n {
			t.Errorf("runhook_alerts_total{type=%q} = %v, want %v", typ, raised[typ], n)
		}
	}
	if len(raised) != len(want) {
		t.Errorf("runhook_alerts_total series = %v", raised)
	}
	failed := counts(t, families["runhook_alerts_failed_total"], "type")
	if failed["run_webhook.expired"] != 1 || failed["rule.paused"] != 0 || len(failed) != len(AlertTypes) {
		t.Errorf("runhook_alerts_failed_total = %v", failed)
	}

	var none *Metrics
	none.Alert("rule.paused")
	none.AlertFailed("rule.paused")
}
