package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"gopkg.in/yaml.v3"

	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/payload"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/signing"
)

// The keys each level of the file may have. The file is walked as a
// yaml.Node tree against these lists rather than decoded with
// yaml.Decoder.KnownFields: KnownFields names neither the rule nor the path of
// an unknown key, and stops decoding a whole mapping at a repeated key, which
// would bury the real problem under "required" errors.
var (
	fileKeys     = []string{"rules"}
	ruleKeys     = []string{"name", "id", "project", "filter", "trace_filter", "sampling_rate", "interval", "enabled", "backfill_from", "feedback", "max_runs_per_delivery", "webhooks"}
	feedbackKeys = []string{"require", "wait", "on_timeout"}
	webhookKeys  = []string{"url", "headers", "signing_secret", "format", "retry"}
)

// decoder walks one expanded file and collects every problem.
type decoder struct {
	hide   hider
	policy delivery.URLPolicy
	errs   []*FieldError
}

func (d *decoder) add(rule, path string, line int, format string, args ...any) {
	d.errs = append(d.errs, &FieldError{Rule: rule, Path: path, Line: line, Msg: fmt.Sprintf(format, args...)})
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntax reports a YAML syntax error, its line lifted out of the message.
func (d *decoder) syntax(err error) {
	msg := d.hide.scrub(err.Error())
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		d.add("", "", line, "YAML: %s", m[2])
		return
	}
	d.add("", "", 0, "YAML: %s", strings.TrimPrefix(msg, "yaml: "))
}

func (d *decoder) file(src []byte) []Rule {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.add("", "", 0, "the file is empty; it must be a mapping with a rules: list")
		} else {
			d.syntax(err)
		}
		return nil
	}
	var more yaml.Node
	if err := dec.Decode(&more); err == nil {
		d.add("", "", more.Line, "the file holds more than one YAML document; put every rule in one rules: list")
	} else if !errors.Is(err, io.EOF) {
		d.syntax(err)
	}
	root := deref(doc.Content[0])
	top, ok := d.fields(root, "", "", fileKeys)
	if !ok {
		return nil
	}
	list, present := top["rules"]
	if !present {
		d.add("", "", root.Line, "no rules: key; the file must be a mapping with a rules: list")
		return nil
	}
	if isNull(list) {
		return []Rule{}
	}
	if list.Kind != yaml.SequenceNode {
		d.add("", "rules", list.Line, "must be a list of rules, not %s", kind(list))
		return nil
	}
	rules := make([]Rule, 0, len(list.Content))
	seen := make([]seenRule, 0, len(list.Content))
	for i, n := range list.Content {
		r, s := d.rule(i, deref(n))
		rules = append(rules, r)
		seen = append(seen, s)
	}
	d.duplicates(seen)
	return rules
}

// seenRule is what duplicate detection needs of a rule; zero fields were
// missing or invalid and are already reported.
type seenRule struct {
	label      string
	name       string
	nameLine   int
	id         uuid.UUID
	idLine     int
	idExplicit bool
}

func (d *decoder) duplicates(seen []seenRule) {
	names := map[string]int{}
	ids := map[uuid.UUID]int{}
	for i, s := range seen {
		if s.name != "" {
			if j, ok := names[s.name]; ok {
				d.add(s.label, "name", s.nameLine, "used by more than one rule (also on line %d); names must be unique in the file", seen[j].nameLine)
			} else {
				names[s.name] = i
			}
		}
		if s.id != uuid.Nil {
			if j, ok := ids[s.id]; ok {
				// Two derived ids collide only when the names do, reported above.
				if s.idExplicit || seen[j].idExplicit {
					d.add(s.label, "id", s.idLine, "%s is also the id of %s (line %d); ids must be unique", d.hide.quote(s.id.String()), seen[j].label, seen[j].idLine)
				}
			} else {
				ids[s.id] = i
			}
		}
	}
}

// label is how errors name rule i: by its name when it has a usable one.
func (d *decoder) label(i int, n *yaml.Node) string {
	if n.Kind == yaml.MappingNode {
		for k := 0; k+1 < len(n.Content); k += 2 {
			if n.Content[k].Value != "name" {
				continue
			}
			v := deref(n.Content[k+1])
			if v.Kind == yaml.ScalarNode && !isNull(v) && nameProblem(v.Value) == "" && !d.hide.tainted(v.Value) {
				return "rule " + strconv.Quote(v.Value)
			}
			break
		}
	}
	return fmt.Sprintf("rules[%d]", i)
}

func (d *decoder) rule(i int, n *yaml.Node) (Rule, seenRule) {
	label := d.label(i, n)
	s := seenRule{label: label}
	r := Rule{SamplingRate: 1, Interval: DefaultInterval, Enabled: true}
	f, ok := d.fields(n, label, "", ruleKeys)
	if !ok {
		return r, s
	}

	if v, ok := d.required(f, n, label, "name"); ok {
		if p := nameProblem(v); p != "" {
			d.add(label, "name", f["name"].Line, "%s", p)
		} else {
			r.Name, s.name, s.nameLine = v, v, f["name"].Line
		}
	}

	if v, ok := d.text(f["id"], label, "id"); ok {
		id, err := uuid.Parse(v)
		switch {
		case err != nil:
			d.add(label, "id", f["id"].Line, "%s is not a UUID", d.hide.quote(v))
		case id == uuid.Nil:
			d.add(label, "id", f["id"].Line, "must not be the nil UUID")
		default:
			r.ID, s.id, s.idLine, s.idExplicit = id, id, f["id"].Line, true
		}
	} else if absent(f["id"]) && r.Name != "" {
		r.ID, s.id, s.idLine = DeriveID(r.Name), DeriveID(r.Name), n.Line
	}

	if v, ok := d.required(f, n, label, "project"); ok {
		id, err := uuid.Parse(v)
		switch {
		case err != nil && strings.TrimSpace(v) != v:
			d.add(label, "project", f["project"].Line, "%s has leading or trailing spaces", d.hide.quote(v))
		case err != nil:
			// A name, as the SDKs send it (LANGSMITH_PROJECT); its id is derived the same way the API derives it.
			r.Project = runs.ProjectID(v)
		case id == uuid.Nil:
			d.add(label, "project", f["project"].Line, "must not be the nil UUID")
		default:
			r.Project = id
		}
	}

	r.Filter = d.filter(f["filter"], label, "filter")
	r.TraceFilter = d.filter(f["trace_filter"], label, "trace_filter")

	if n := f["sampling_rate"]; !absent(n) {
		var rate float64
		if t := n.ShortTag(); (t != "!!int" && t != "!!float") || n.Decode(&rate) != nil || !(rate >= 0 && rate <= 1) {
			d.add(label, "sampling_rate", n.Line, "must be a number from 0 to 1, got %s", d.show(n))
		} else {
			r.SamplingRate = rate
		}
	}

	if v, ok := d.duration(f["interval"], label, "interval"); ok {
		if v < MinInterval {
			d.add(label, "interval", f["interval"].Line, "%s is shorter than the minimum %s", v, MinInterval)
		} else {
			r.Interval = v
		}
	}

	if n := f["enabled"]; !absent(n) {
		if n.ShortTag() != "!!bool" || n.Decode(&r.Enabled) != nil {
			d.add(label, "enabled", n.Line, "must be true or false, got %s", d.show(n))
		}
	}

	if v, ok := d.text(f["backfill_from"], label, "backfill_from"); ok {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			d.add(label, "backfill_from", f["backfill_from"].Line, "%s is not an RFC 3339 time such as 2026-11-01T00:00:00Z", d.hide.quote(v))
		} else {
			t = t.UTC()
			r.BackfillFrom = &t
		}
	}

	r.Feedback = d.feedback(f["feedback"], label)

	if n := f["max_runs_per_delivery"]; !absent(n) {
		var max int
		if n.ShortTag() != "!!int" || n.Decode(&max) != nil || max < 0 || max > MaxRunsPerDelivery {
			d.add(label, "max_runs_per_delivery", n.Line, "must be a whole number from 0 (the service default) to %d, got %s", MaxRunsPerDelivery, d.show(n))
		} else {
			r.MaxRunsPerDelivery = max
		}
	}

	r.Webhooks = d.webhooks(f["webhooks"], n, label)
	// LangGraph's shape is one run per POST, and every webhook of a rule
	// gets the same batches.
	if r.MaxRunsPerDelivery > 1 {
		for i, w := range r.Webhooks {
			if w.Format == payload.FormatLangGraph {
				d.add(label, "max_runs_per_delivery", f["max_runs_per_delivery"].Line,
					"is %d, but webhooks[%d] has format langgraph, which posts one run per request: set 1 or leave it out",
					r.MaxRunsPerDelivery, i)
				break
			}
		}
	}
	return r, s
}

func (d *decoder) filter(n *yaml.Node, label, path string) string {
	v, ok := d.text(n, label, path)
	if !ok {
		return ""
	}
	if strings.TrimSpace(v) == "" {
		return ""
	}
	if err := checkFilter(v); err != nil {
		// The filter package's errors start with "filter: ", which the path says already.
		d.add(label, path, n.Line, "%s", d.hide.scrub(strings.TrimPrefix(err.Error(), "filter: ")))
		return ""
	}
	return v
}

func (d *decoder) feedback(n *yaml.Node, label string) Feedback {
	if absent(n) {
		return Feedback{}
	}
	f, ok := d.fields(n, label, "feedback", feedbackKeys)
	if !ok {
		return Feedback{}
	}
	var fb Feedback
	if req := f["require"]; !absent(req) {
		if req.Kind != yaml.SequenceNode {
			d.add(label, "feedback.require", req.Line, "must be a list of feedback keys, not %s", kind(req))
		} else if len(req.Content) > MaxFeedbackKeys {
			d.add(label, "feedback.require", req.Line, "lists %d keys, at most %d", len(req.Content), MaxFeedbackKeys)
		} else {
			seen := map[string]int{}
			for i, k := range req.Content {
				path := fmt.Sprintf("feedback.require[%d]", i)
				v, ok := d.text(deref(k), label, path)
				switch {
				case !ok:
					if absent(deref(k)) {
						d.add(label, path, k.Line, "must be a feedback key, not empty")
					}
				case strings.TrimSpace(v) == "":
					d.add(label, path, k.Line, "must be a feedback key, not empty")
				case seen[v] > 0:
					d.add(label, path, k.Line, "%s is listed twice (also on line %d)", d.hide.quote(v), seen[v])
				default:
					seen[v] = k.Line
					fb.Require = append(fb.Require, v)
				}
			}
		}
	}
	gated := len(fb.Require) > 0
	fb.Wait = DefaultFeedbackWait
	if v, ok := d.duration(f["wait"], label, "feedback.wait"); ok {
		switch {
		case !gated:
			d.add(label, "feedback.wait", f["wait"].Line, "applies only with feedback.require")
		case v <= 0 || v > MaxFeedbackWait:
			d.add(label, "feedback.wait", f["wait"].Line, "%s is out of range: more than 0, at most %s (7 days)", v, MaxFeedbackWait)
		default:
			fb.Wait = v
		}
	}
	fb.OnTimeout = OnTimeoutSkip
	if v, ok := d.text(f["on_timeout"], label, "feedback.on_timeout"); ok {
		switch {
		case !gated:
			d.add(label, "feedback.on_timeout", f["on_timeout"].Line, "applies only with feedback.require")
		case v != OnTimeoutSkip && v != OnTimeoutDeliver:
			d.add(label, "feedback.on_timeout", f["on_timeout"].Line, "must be %s or %s, got %s", OnTimeoutSkip, OnTimeoutDeliver, d.hide.quote(v))
		default:
			fb.OnTimeout = v
		}
	}
	if !gated {
		return Feedback{}
	}
	return fb
}

func (d *decoder) webhooks(n, rule *yaml.Node, label string) []Webhook {
	switch {
	case absent(n):
		d.add(label, "webhooks", rule.Line, "is required: at least one webhook")
		return nil
	case n.Kind != yaml.SequenceNode:
		d.add(label, "webhooks", n.Line, "must be a list of webhooks, not %s", kind(n))
		return nil
	case len(n.Content) == 0:
		d.add(label, "webhooks", n.Line, "is empty: at least one webhook is required")
		return nil
	case len(n.Content) > MaxWebhooks:
		d.add(label, "webhooks", n.Line, "lists %d webhooks, at most %d", len(n.Content), MaxWebhooks)
		return nil
	}
	hooks := make([]Webhook, 0, len(n.Content))
	for i, item := range n.Content {
		item = deref(item)
		path := fmt.Sprintf("webhooks[%d]", i)
		f, ok := d.fields(item, label, path, webhookKeys)
		if !ok {
			continue
		}
		var w Webhook
		if v, ok := d.required(f, item, label, path+".url"); ok {
			if err := d.policy.Check(v); err != nil {
				d.add(label, path+".url", f["url"].Line, "%s", d.hide.scrub(err.Error()))
			} else {
				w.URL = v
			}
		}
		w.Headers = d.headers(f["headers"], label, path+".headers")
		w.SigningSecrets = d.signingSecrets(f["signing_secret"], label, path+".signing_secret")
		if v, ok := d.text(f["format"], label, path+".format"); ok {
			format, err := payload.ParseFormat(v)
			if err != nil {
				d.add(label, path+".format", f["format"].Line, "must be langsmith or langgraph, got %s", d.hide.quote(v))
			}
			w.Format = format
		}
		if v, ok := d.text(f["retry"], label, path+".retry"); ok {
			switch v {
			case "standard":
				w.Retry = delivery.RetryStandard
			case "langsmith":
				w.Retry = delivery.RetryLangSmith
			default:
				d.add(label, path+".retry", f["retry"].Line, "must be langsmith or standard, got %s", d.hide.quote(v))
			}
		}
		hooks = append(hooks, w)
	}
	return hooks
}

// signingSecrets reads a webhook's signing_secret: one whsec_ secret, or a
// list of up to signing.MaxSecrets while a receiver rotates its secret (each
// POST is then signed with each). ParseSecret's errors never quote the secret.
func (d *decoder) signingSecrets(n *yaml.Node, label, path string) []string {
	if absent(n) {
		return nil
	}
	items, list := []*yaml.Node{n}, n.Kind == yaml.SequenceNode
	if list {
		switch {
		case len(n.Content) == 0:
			d.add(label, path, n.Line, "is an empty list: give a whsec_ secret, or leave it out to send unsigned")
			return nil
		case len(n.Content) > signing.MaxSecrets:
			d.add(label, path, n.Line, "lists %d signing secrets, at most %d (the one in use and the next)", len(n.Content), signing.MaxSecrets)
			return nil
		}
		items = n.Content
	}
	var out []string
	for i, item := range items {
		item, p := deref(item), path
		if list {
			p = fmt.Sprintf("%s[%d]", path, i)
			if absent(item) {
				d.add(label, p, item.Line, "is empty")
				continue
			}
		}
		v, ok := d.text(item, label, p)
		if !ok {
			continue
		}
		if _, err := signing.ParseSecret(v); err != nil {
			d.add(label, p, item.Line, "%s", err)
			continue
		}
		out = append(out, v)
	}
	return out
}

func (d *decoder) headers(n *yaml.Node, label, path string) map[string]string {
	if absent(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.add(label, path, n.Line, "must be a mapping of header names to values, not %s", kind(n))
		return nil
	}
	if len(n.Content)/2 > MaxHeaders {
		d.add(label, path, n.Line, "sets %d headers, at most %d", len(n.Content)/2, MaxHeaders)
		return nil
	}
	h := map[string]string{}
	lines := map[string]int{} // canonical name -> line first set
	type entry struct {
		name string
		line int
	}
	var names []entry
	for k := 0; k+1 < len(n.Content); k += 2 {
		key, val := deref(n.Content[k]), deref(n.Content[k+1])
		if key.Kind != yaml.ScalarNode {
			d.add(label, path, key.Line, "header names must be strings, not %s", kind(key))
			continue
		}
		name := key.Value
		canon := strings.ToLower(name)
		if first, ok := lines[canon]; ok {
			d.add(label, path, key.Line, "header %s is set twice (also on line %d; names are case-insensitive)", d.hide.quote(name), first)
			continue
		}
		lines[canon] = key.Line
		value := ""
		if !isNull(val) {
			if val.Kind != yaml.ScalarNode {
				d.add(label, path, val.Line, "header %s: the value must be a string, not %s", d.hide.quote(name), kind(val))
				continue
			}
			value = val.Value
		}
		h[name] = value
		names = append(names, entry{name, key.Line})
	}
	// One header at a time, so every bad header is reported, in file order.
	bad := false
	for _, e := range names {
		if err := delivery.CheckHeaders(map[string]string{e.name: h[e.name]}); err != nil {
			d.add(label, path, e.line, "%s", d.hide.scrub(err.Error()))
			bad = true
		}
	}
	if bad || len(h) == 0 {
		return nil
	}
	return h
}

// fields checks that n is a mapping of known keys, each set once, and
// returns its values (aliases followed) by key.
func (d *decoder) fields(n *yaml.Node, label, path string, known []string) (map[string]*yaml.Node, bool) {
	if n.Kind != yaml.MappingNode {
		what := "the file"
		switch {
		case path != "":
			what = "it"
		case label != "":
			what = "a rule"
		}
		d.add(label, path, n.Line, "%s must be a mapping of keys (%s), not %s", what, strings.Join(known, ", "), kind(n))
		return nil, false
	}
	out := make(map[string]*yaml.Node, len(known))
	firstLine := map[string]int{}
	for k := 0; k+1 < len(n.Content); k += 2 {
		key := deref(n.Content[k])
		if key.Kind != yaml.ScalarNode {
			d.add(label, path, key.Line, "keys must be plain names, not %s", kind(key))
			continue
		}
		name := key.Value
		if !slices.Contains(known, name) {
			d.add(label, path, key.Line, "unknown key %s; the keys here are %s", d.hide.quote(name), strings.Join(known, ", "))
			continue
		}
		if first, ok := firstLine[name]; ok {
			d.add(label, join(path, name), key.Line, "set twice (first on line %d)", first)
			continue
		}
		firstLine[name] = key.Line
		out[name] = deref(n.Content[k+1])
	}
	return out, true
}

// text returns a scalar's text; ok is false when the key is absent or null,
// or (reported) not a scalar.
func (d *decoder) text(n *yaml.Node, label, path string) (string, bool) {
	if absent(n) {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		d.add(label, path, n.Line, "must be a single value, not %s", kind(n))
		return "", false
	}
	return n.Value, true
}

// required is text for a key that must be there; parent is where to point
// when it is not.
func (d *decoder) required(f map[string]*yaml.Node, parent *yaml.Node, label, path string) (string, bool) {
	key := path[strings.LastIndexByte(path, '.')+1:]
	n := f[key]
	if absent(n) {
		d.add(label, path, parent.Line, "is required")
		return "", false
	}
	v, ok := d.text(n, label, path)
	if ok && v == "" {
		d.add(label, path, n.Line, "is required, and empty here")
		return "", false
	}
	return v, ok
}

func (d *decoder) duration(n *yaml.Node, label, path string) (time.Duration, bool) {
	v, ok := d.text(n, label, path)
	if !ok {
		return 0, false
	}
	dur, err := time.ParseDuration(v)
	if err != nil {
		d.add(label, path, n.Line, "%s is not a duration such as 30s, 5m or 1h", d.hide.quote(v))
		return 0, false
	}
	return dur, true
}

// show quotes a scalar for an error, or names the kind of anything else.
func (d *decoder) show(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return d.hide.quote(n.Value)
	}
	return kind(n)
}

// nameProblem says what is wrong with a rule name, or "".
func nameProblem(s string) string {
	switch {
	case strings.TrimSpace(s) == "":
		return "must not be blank"
	case utf8.RuneCountInString(s) > MaxNameLength:
		return fmt.Sprintf("is %d characters long, at most %d", utf8.RuneCountInString(s), MaxNameLength)
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "must not contain control characters"
	}
	return ""
}

// deref follows aliases (*anchor) to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// absent is true for a key not given or given no value (key: or key: null).
func absent(n *yaml.Node) bool { return n == nil || isNull(n) }

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		if isNull(n) {
			return "nothing"
		}
		return "a single value"
	}
	return "an unsupported YAML node"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
