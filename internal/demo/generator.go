// Package demo makes up realistic LLM-application traffic: traces of a
// question-answering agent and a summarizer with LLM, tool and retriever
// calls, written as LangSmith writes them, and an evaluator that scores some
// of them later. `starter demo` runs it against ClickHouse so that the example
// rules have something to match.
package demo

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/runs"
)

// Project is the demo project of examples/runs.jsonl and examples/rules.yaml.
var Project = uuid.MustParse("6a3be6a2-9a8c-4fc8-b4c6-a8983b286cc5")

// Trace names: the example rules watch QAAgent.
const (
	QAAgent    = "qa_agent"
	Summarizer = "summarizer"
)

// Trace is one generated trace: every run in its completed version, root
// first, then the others in start order.
type Trace struct {
	Runs []runs.Run
}

// Root is the trace's root run.
func (t Trace) Root() runs.Run { return t.Runs[0] }

// Generator makes traces for one project. Everything it makes up, ids
// included, comes from its seeded source, so a seed replays the same traffic.
type Generator struct {
	rng     *rand.Rand
	project uuid.UUID
}

// NewGenerator returns a generator for project seeded with seed.
func NewGenerator(project uuid.UUID, seed uint64) *Generator {
	return &Generator{rng: rand.New(rand.NewPCG(seed, 0x6a3be6a2)), project: project}
}

// ErrorRate is the share of traces in which one step fails.
const ErrorRate = 0.05

type model struct {
	name, class, provider        string
	promptPer1K, completionPer1K float64 // USD
}

var models = []model{
	{"gpt-4o-mini", "ChatOpenAI", "openai", 0.00015, 0.0006},
	{"gpt-4o", "ChatOpenAI", "openai", 0.0025, 0.01},
	{"claude-3-5-sonnet", "ChatAnthropic", "anthropic", 0.003, 0.015},
}

var questions = []string{
	"What is LangSmith?",
	"How do I rotate an API key?",
	"Why is my trace missing child runs?",
	"Can I export runs to S3?",
	"How are tokens counted for streaming responses?",
	"What does dotted_order mean?",
	"How do I set up a webhook for failed runs?",
	"Which regions is the service hosted in?",
}

var documents = []string{
	"release-notes.md", "api-keys.md", "tracing-faq.md", "exports.md", "billing.md", "webhooks.md",
}

// failures are what a failing step of each kind reports, as the Python SDK
// records an exception.
var failures = map[string][]string{
	"llm": {
		"RateLimitError: Error code: 429 - Rate limit reached for requests",
		"APITimeoutError: Request timed out.",
	},
	"tool":      {"ToolException: Search API returned 503 Service Unavailable"},
	"retriever": {"ConnectionError: vector store at 10.0.3.7:6333 refused the connection"},
}

// Trace makes up one trace whose root starts at start.
func (g *Generator) Trace(start time.Time) Trace {
	start = start.UTC().Truncate(time.Microsecond)
	env := "prod"
	if g.rng.Float64() < 0.25 {
		env = "staging"
	}
	m := models[g.rng.IntN(len(models))]
	meta := map[string]any{"env": env, "user_id": fmt.Sprintf("user-%03d", g.rng.IntN(200)), "model": m.name}
	name := QAAgent
	if g.rng.Float64() < 0.2 {
		name = Summarizer
	}
	question := questions[g.rng.IntN(len(questions))]

	root := g.run(nil, name, "chain", start, []string{env, m.name}, meta)
	var steps []func(parent runs.Run, at time.Time) runs.Run
	if name == QAAgent {
		root.Inputs = mustJSON(map[string]any{"question": question})
		steps = append(steps, func(p runs.Run, at time.Time) runs.Run { return g.retriever(p, at, question, env, meta) })
		if g.rng.Float64() < 0.5 {
			steps = append(steps, func(p runs.Run, at time.Time) runs.Run { return g.tool(p, at, question, env, meta) })
		}
		steps = append(steps, func(p runs.Run, at time.Time) runs.Run { return g.llm(p, at, m, question, env, meta) })
	} else {
		doc := documents[g.rng.IntN(len(documents))]
		root.Inputs = mustJSON(map[string]any{"document": doc})
		steps = append(steps, func(p runs.Run, at time.Time) runs.Run { return g.retriever(p, at, doc, env, meta) })
		for range 1 + g.rng.IntN(2) { // map, then maybe reduce
			steps = append(steps, func(p runs.Run, at time.Time) runs.Run { return g.llm(p, at, m, "Summarize "+doc, env, meta) })
		}
	}
	failAt := -1
	if g.rng.Float64() < ErrorRate {
		failAt = g.rng.IntN(len(steps))
	}

	trace := Trace{Runs: []runs.Run{root}}
	at := start.Add(g.between(2*time.Millisecond, 15*time.Millisecond))
	var answer string
	for i, step := range steps {
		child := step(root, at)
		if i == failAt {
			// A failed step ends the trace: the SDK records the exception on
			// the step and on every enclosing run it propagates through.
			fail(&child, failures[child.RunType][g.rng.IntN(len(failures[child.RunType]))])
			root.Error = child.Error
		}
		trace.Runs = append(trace.Runs, child)
		root.PromptTokens += child.PromptTokens
		root.CompletionTokens += child.CompletionTokens
		root.TotalTokens += child.TotalTokens
		root.PromptCost = addCost(root.PromptCost, child.PromptCost)
		root.CompletionCost = addCost(root.CompletionCost, child.CompletionCost)
		root.TotalCost = addCost(root.TotalCost, child.TotalCost)
		at = child.EndTime.Add(g.between(time.Millisecond, 10*time.Millisecond))
		if child.RunType == "llm" && child.Error == nil {
			answer = fmt.Sprintf("Here is what the docs say about %q.", question)
		}
		if i == failAt {
			break
		}
	}
	end(&root, at)
	if root.Error != nil {
		root.Status, root.Outputs = "error", nil
	} else if name == QAAgent {
		root.Outputs = mustJSON(map[string]any{"answer": answer})
	} else {
		root.Outputs = mustJSON(map[string]any{"summary": answer})
	}
	trace.Runs[0] = root
	return trace
}

// run starts a run under parent (nil for a root) with LangSmith's derived
// fields: trace_id, parent_run_ids (root first) and dotted_order.
func (g *Generator) run(parent *runs.Run, name, runType string, start time.Time, tags []string, meta map[string]any) runs.Run {
	r := runs.Run{
		ID: g.id(), SessionID: g.project, Name: name, RunType: runType, StartTime: start,
		Tags: tags, Extra: mustJSON(map[string]any{"metadata": meta}),
		ParentRunIDs: []uuid.UUID{},
	}
	part := runs.DottedOrderPart(start, r.ID)
	if parent == nil {
		r.TraceID, r.IsRoot, r.DottedOrder = r.ID, true, part
		return r
	}
	pid := parent.ID
	r.TraceID, r.ParentRunID = parent.TraceID, &pid
	r.ParentRunIDs = append(append([]uuid.UUID{}, parent.ParentRunIDs...), parent.ID)
	r.DottedOrder = parent.DottedOrder + "." + part
	return r
}

func (g *Generator) retriever(parent runs.Run, at time.Time, query, env string, meta map[string]any) runs.Run {
	r := g.run(&parent, "search_docs", "retriever", at, []string{env}, meta)
	r.Inputs = mustJSON(map[string]any{"query": query})
	var docs []map[string]any
	for range 1 + g.rng.IntN(3) {
		src := documents[g.rng.IntN(len(documents))]
		docs = append(docs, map[string]any{"page_content": "Excerpt from " + src, "metadata": map[string]any{"source": src}})
	}
	r.Outputs = mustJSON(map[string]any{"documents": docs})
	end(&r, at.Add(g.between(40*time.Millisecond, 400*time.Millisecond)))
	return r
}

func (g *Generator) tool(parent runs.Run, at time.Time, query, env string, meta map[string]any) runs.Run {
	r := g.run(&parent, "Search", "tool", at, []string{env}, meta)
	r.Inputs = mustJSON(map[string]any{"input": query})
	r.Outputs = mustJSON(map[string]any{"output": fmt.Sprintf("%d results for %q", 1+g.rng.IntN(20), query)})
	end(&r, at.Add(g.between(100*time.Millisecond, 1200*time.Millisecond)))
	return r
}

func (g *Generator) llm(parent runs.Run, at time.Time, m model, prompt, env string, meta map[string]any) runs.Run {
	llmMeta := map[string]any{"ls_provider": m.provider, "ls_model_name": m.name}
	for k, v := range meta {
		llmMeta[k] = v
	}
	r := g.run(&parent, m.class, "llm", at, []string{env, m.name}, llmMeta)
	r.Inputs = mustJSON(map[string]any{"messages": []map[string]string{
		{"role": "system", "content": "Answer from the documentation only."},
		{"role": "user", "content": prompt},
	}})
	r.PromptTokens = uint64(50 + g.rng.IntN(1450))
	r.CompletionTokens = uint64(10 + g.rng.IntN(590))
	r.TotalTokens = r.PromptTokens + r.CompletionTokens
	pc := float64(r.PromptTokens) / 1000 * m.promptPer1K
	cc := float64(r.CompletionTokens) / 1000 * m.completionPer1K
	tc := pc + cc
	r.PromptCost, r.CompletionCost, r.TotalCost = &pc, &cc, &tc
	r.Outputs = mustJSON(map[string]any{"generations": []map[string]string{{"text": "Here is what the docs say about " + prompt}}})
	// 0.2-3 s, most calls short: a square skews towards the low end while
	// about two in three still take longer than the rule's half second.
	u := g.rng.Float64()
	latency := 200*time.Millisecond + time.Duration(u*u*float64(2800*time.Millisecond))
	first := at.Add(latency / 5).Truncate(time.Microsecond)
	r.FirstTokenTime = &first
	end(&r, at.Add(latency))
	return r
}

// between is a uniform duration in [lo, hi), in whole microseconds (the
// stored precision).
func (g *Generator) between(lo, hi time.Duration) time.Duration {
	return (lo + time.Duration(g.rng.Int64N(int64(hi-lo)))).Truncate(time.Microsecond)
}

func (g *Generator) id() uuid.UUID { return newID(g.rng) }

// newID is a version 4 UUID drawn from rng rather than crypto/rand, so that a
// seed replays the same ids.
func newID(rng *rand.Rand) uuid.UUID {
	var id uuid.UUID
	hi, lo := rng.Uint64(), rng.Uint64()
	for i := range 8 {
		id[i], id[8+i] = byte(hi>>(56-8*i)), byte(lo>>(56-8*i))
	}
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80
	return id
}

// end completes r at t; its last write is then.
func end(r *runs.Run, t time.Time) {
	t = t.UTC().Truncate(time.Microsecond)
	r.EndTime, r.ModifiedAt, r.Status = &t, t, "success"
}

func fail(r *runs.Run, msg string) {
	r.Status, r.Error, r.Outputs = "error", &msg, nil
	if r.RunType == "llm" {
		// A refused request used no tokens.
		r.PromptTokens, r.CompletionTokens, r.TotalTokens = 0, 0, 0
		r.PromptCost, r.CompletionCost, r.TotalCost, r.FirstTokenTime = nil, nil, nil, nil
	}
}

func addCost(sum, c *float64) *float64 {
	if c == nil {
		return sum
	}
	v := *c
	if sum != nil {
		v += *sum
	}
	return &v
}

// Started is the version of r that LangSmith's SDKs post when the run begins:
// no end, outputs, error or usage yet, status pending, last modified at its start.
func Started(r runs.Run) runs.Run {
	r.EndTime, r.Outputs, r.Error, r.FirstTokenTime = nil, nil, nil, nil
	r.Status, r.ModifiedAt = "pending", r.StartTime
	r.PromptTokens, r.CompletionTokens, r.TotalTokens = 0, 0, 0
	r.PromptCost, r.CompletionCost, r.TotalCost = nil, nil, nil
	return r
}

// Latency is how long a completed run took; zero while it runs.
func Latency(r runs.Run) time.Duration {
	if r.EndTime == nil {
		return 0
	}
	return r.EndTime.Sub(r.StartTime)
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps of strings and numbers are marshalled
	}
	return b
}
