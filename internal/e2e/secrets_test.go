package e2e_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/runhook/runhook/internal/app"
	"github.com/runhook/runhook/internal/clickhousetest"
	"github.com/runhook/runhook/internal/signing"
	"github.com/runhook/runhook/internal/testenv"
)

// A rule's secrets (URL query, header values, signing secret) appear in
// plaintext nowhere: not in CLI output, ClickHouse, any workflow history, or
// the console's pages and log.
func TestRuleSecretsStayEncrypted(t *testing.T) {
	h := newHarness(t)
	h.startWorker()
	signingSecret, err := signing.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	const querySecret, headerSecret = "q-secret-4f1d9a", "h-secret-77c2e0"
	h.environ = append(h.environ, "HEADER_SECRET="+headerSecret, "SIGNING_SECRET="+signingSecret)
	rules := `rules:
  - name: audited
    project: ${PROJECT}
    interval: 1s
    feedback: {require: [usefulness], wait: 2s, on_timeout: deliver}
    webhooks:
      - url: ${RECEIVER_URL}/hook?secret=` + querySecret + `
        headers: {X-Api-Key: "${HEADER_SECRET}"}
        signing_secret: ${SIGNING_SECRET}
`
	outputs := []string{h.mustApply(rules)}
	r := h.run()
	h.insert(r)
	h.waitDelivered(ids(r), time.Second)
	for _, args := range [][]string{{"rules", "list"}, {"rules", "get", "audited"}, {"rules", "logs", "audited"}, {"config"}} {
		out, err := h.starter(args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		outputs = append(outputs, out)
	}
	if !strings.Contains(outputs[2], "secret=***") {
		t.Errorf("rules get does not show the redacted URL:\n%s", outputs[2])
	}

	secrets := []string{querySecret, headerSecret, strings.TrimPrefix(signingSecret, "whsec_")}
	check := func(where, text string) {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("plaintext secret %.8s… found in %s", s, where)
			}
		}
	}
	for i, out := range outputs {
		check(fmt.Sprintf("CLI output %d", i), out)
	}
	for where, text := range consolePages(t, h, r.ID.String()) {
		check(where, text)
	}

	dump, err := clickhousetest.DumpText(context.Background(), h.store)
	if err != nil {
		t.Fatal(err)
	}
	for table, text := range dump {
		check("ClickHouse table "+table, text)
	}

	ctx := context.Background()
	var workflowIDs []string
	// Visibility is eventually consistent: wait for the tick, the feedback
	// wait, its DeliverRuns and the Delivery at least.
	waitFor(t, 30*time.Second, "the rule's workflows to be listed", func() bool {
		workflowIDs = nil
		var token []byte
		for {
			page, err := h.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
				Query: "TaskQueue = '" + h.queue + "'", NextPageToken: token,
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page.Executions {
				workflowIDs = append(workflowIDs, e.Execution.WorkflowId)
			}
			if token = page.NextPageToken; len(token) == 0 {
				break
			}
		}
		kinds := map[string]bool{}
		for _, id := range workflowIDs {
			switch {
			case strings.Contains(id, "/tick-"):
				kinds["tick"] = true
			case strings.HasSuffix(id, "/wait"):
				kinds["wait"] = true
			case strings.Contains(id, "/wait/d"):
				kinds["delivery"] = true
			}
		}
		return len(kinds) == 3
	})
	for _, id := range workflowIDs {
		text, err := testenv.HistoryText(ctx, h.client, id)
		if err != nil {
			t.Fatal(err)
		}
		check("history of "+id, text)
	}
	t.Logf("audited %d CLI outputs, %d tables, %d workflow histories", len(outputs), len(dump), len(workflowIDs))
}

// consolePages fetches every console page of the harness's rules and of
// run, from loopback, and returns each page's HTML source and the console's
// log by where they came from.
func consolePages(t *testing.T, h *harness, run string) map[string]string {
	t.Helper()
	var logs testenv.Buffer
	cons, err := app.Console(h.cfg, h.store, h.client, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := h.store.Rules(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"/console/", "/console/run-webhooks", "/console/runs/" + run, "/console/login"}
	for _, r := range rules {
		paths = append(paths, "/console/rules/"+r.ID.String(), "/console/rules/"+r.ID.String()+"?run="+run,
			"/console/rules/"+r.ID.String()+"/preview")
	}
	out := map[string]string{}
	for _, p := range paths {
		req := httptest.NewRequest(http.MethodGet, p, nil)
		req.RemoteAddr = "127.0.0.1:1"
		rec := httptest.NewRecorder()
		cons.Handler().ServeHTTP(rec, req)
		body, _ := io.ReadAll(rec.Result().Body)
		if rec.Code != http.StatusOK {
			t.Fatalf("console %s: %d\n%s", p, rec.Code, body)
		}
		out["console page "+p] = string(body)
	}
	out["console log"] = logs.String()
	return out
}
