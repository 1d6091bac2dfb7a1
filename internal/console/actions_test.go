package console

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// post sends a same-origin form POST from loopback, as the console's own
// buttons do.
func post(t *testing.T, h http.Handler, path string, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(""))
	req.RemoteAddr = "127.0.0.1:50000"
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestPauseResumeTriggerGoThroughRuleops(t *testing.T) {
	st, sc, _, opts := fixture()
	h := newConsole(t, opts)
	base := "/console/rules/" + ruleID.String()

	rec := post(t, h, base+"/pause", nil)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("pause: %d %s", rec.Code, rec.Body)
	}
	if p, _, _ := st.LatestPause(t.Context(), ruleID); !p.Paused || p.Reason != "paused in the console" || !sc.paused[ruleID] {
		t.Fatalf("pause: record %+v, schedule paused %v", p, sc.paused[ruleID])
	}
	loc := rec.Header().Get("Location")
	_, body := get(t, h, loc)
	mustContain(t, "rule after pause", body, `<div class="flash" id="flash">paused</div>`, `id="resume"`, "state-paused")

	if rec := post(t, h, base+"/resume", nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("resume: %d", rec.Code)
	}
	if p, _, _ := st.LatestPause(t.Context(), ruleID); p.Paused || sc.paused[ruleID] {
		t.Fatal("resume: still paused")
	}
	if rec := post(t, h, base+"/trigger", nil); rec.Code != http.StatusSeeOther || len(sc.triggered) != 1 {
		t.Fatalf("trigger: %d, triggered %v", rec.Code, sc.triggered)
	}
	if rec := post(t, h, base+"/explode", nil); rec.Code != http.StatusNotFound {
		t.Errorf("unknown action: %d", rec.Code)
	}
}

func TestRedeliverFailed(t *testing.T) {
	_, _, starter, opts := fixture()
	h := newConsole(t, opts)
	rec := post(t, h, "/console/rules/"+ruleID.String()+"/redeliver", nil)
	if rec.Code != http.StatusSeeOther || len(starter.started) != 1 || starter.started[0].RunIDs[0] != runBad {
		t.Fatalf("redeliver: %d, started %+v", rec.Code, starter.started)
	}
	if loc, _ := url.Parse(rec.Header().Get("Location")); loc.Query().Get("msg") != "redelivering 1 failed run(s) in 1 workflow(s)" {
		t.Errorf("redeliver: message %q", loc.Query().Get("msg"))
	}
}

func TestCrossOriginPostsAreRefused(t *testing.T) {
	st, sc, _, opts := fixture()
	h := newConsole(t, opts)
	base := "/console/rules/" + ruleID.String()
	for _, hdr := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Sec-Fetch-Site": "", "Origin": "https://evil.example"},
	} {
		if rec := post(t, h, base+"/pause", hdr); rec.Code != http.StatusForbidden {
			t.Errorf("POST with %v: %d, want 403", hdr, rec.Code)
		}
	}
	if len(st.pauses) != 0 || sc.paused[ruleID] {
		t.Fatal("a cross-origin POST paused the rule")
	}
}

func TestActionsOffWithoutTemporal(t *testing.T) {
	_, _, _, opts := fixture()
	opts.Schedules, opts.Redeliveries = nil, nil
	h := newConsole(t, opts)
	if rec := post(t, h, "/console/rules/"+ruleID.String()+"/pause", nil); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("pause without Temporal: %d", rec.Code)
	}
	_, body := get(t, h, "/console/rules/"+ruleID.String())
	mustContain(t, "rule without Temporal", body, "pause, resume and trigger are off", "this server has no Temporal client")
}

func TestPreviewPage(t *testing.T) {
	_, _, _, opts := fixture()
	h := newConsole(t, opts)
	code, body := get(t, h, "/console/rules/"+ruleID.String()+"/preview?since=2h")
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	mustContain(t, "preview", body, "not yet handed on", "no runs picked", "feedback waiting", "nothing was claimed")
	if code, _ := get(t, h, "/console/rules/"+ruleID.String()+"/preview?since=-1h"); code != http.StatusBadRequest {
		t.Errorf("negative since: %d", code)
	}
}
