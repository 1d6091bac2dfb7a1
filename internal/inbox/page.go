package inbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strings"
)

// The page is self-contained (no external assets) and built with
// html/template: payloads are untrusted input and must only ever appear
// escaped.
var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
{{if .Refresh}}<meta http-equiv="refresh" content="3">{{end}}
<title>runhook inbox</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; margin: 0 0 .2em; }
.mode { color: #555; margin-bottom: 1em; }
.d { border-top: 1px solid #ddd; padding: .5em 0; }
.line { font-family: ui-monospace, monospace; white-space: pre-wrap; }
.bad .line { color: #a00; }
.meta { color: #555; font-size: .9em; }
pre { background: #f6f6f6; padding: .6em; overflow: auto; max-height: 40em; }
</style>
</head>
<body>
<h1>runhook inbox</h1>
<div class="mode">{{.Mode}} · {{len .Deliveries}} kept (last {{.Keep}}) ·
{{if .Refresh}}refreshing every 3 s — <a href="/?refresh=off">pause</a>{{else}}paused — <a href="/">resume refreshing</a>{{end}}
· <a href="/deliveries.json">deliveries.json</a></div>
{{range .Deliveries}}
<div class="d{{if ge .Status 300}} bad{{end}}">
<div class="line">#{{.Seq}} {{.Line}}</div>
<div class="meta">{{.Received.Format "2006-01-02 15:04:05.000 MST"}} · {{.Path}} · webhook-id {{if .WebhookID}}{{.WebhookID}}{{else}}(none){{end}} · {{.Size}} bytes{{if .RuleID}} · rule {{.RuleID}}{{end}}{{if .CompletedRun}} · run ended: {{.CompletedRun}}{{end}}{{if .StartTime}} · window {{.StartTime}} – {{.EndTime}}{{end}}</div>
{{if .RunIDs}}<div class="meta">runs: {{range $i, $id := .RunIDs}}{{if $i}}, {{end}}{{$id}}{{end}}</div>{{end}}
{{if .Pretty}}<details><summary>payload</summary><pre>{{.Pretty}}</pre></details>{{end}}
</div>
{{else}}
<p>No deliveries yet. POST to any path, e.g. /hook.</p>
{{end}}
</body>
</html>
`))

type pageItem struct {
	Delivery
	Line   string
	Pretty string
}

func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	ds := h.Deliveries()
	items := make([]pageItem, len(ds))
	for i, d := range ds {
		items[i] = pageItem{Delivery: d, Line: Summary(d), Pretty: pretty(d.Body)}
	}
	var buf bytes.Buffer
	err := pageTmpl.Execute(&buf, map[string]any{
		"Deliveries": items,
		"Keep":       h.opt.Keep,
		"Mode":       h.Mode(),
		// Reloading closes open <details>, so the page can be paused.
		"Refresh": r.URL.Query().Get("refresh") != "off",
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

func pretty(body string) string {
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(body), "", "  "); err != nil {
		return body
	}
	return buf.String()
}

// Mode describes the checks and answers in effect, for the page and the
// command's banner. It never includes a secret.
func (h *Handler) Mode() string {
	var parts []string
	if h.opt.Secret != "" {
		parts = append(parts, "secret required")
	} else {
		parts = append(parts, "secret not checked")
	}
	if h.opt.SigningKey != nil {
		parts = append(parts, fmt.Sprintf("signature verified (tolerance %s)", h.opt.Tolerance))
	} else {
		parts = append(parts, "signature not checked")
	}
	switch {
	case h.opt.FailFirst > 0:
		parts = append(parts, fmt.Sprintf("answers %d to the first %d attempt(s) of each webhook-id, then 204", h.chosenStatus(1), h.opt.FailFirst))
	default:
		parts = append(parts, fmt.Sprintf("answers %d", h.chosenStatus(1)))
	}
	if h.opt.Delay > 0 {
		parts = append(parts, fmt.Sprintf("after %s", h.opt.Delay))
	}
	return strings.Join(parts, ", ")
}
