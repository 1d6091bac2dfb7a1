// Package synth makes synthetic traces shaped like the ones the LangSmith SDKs
// post for a retrieval agent: completed runs with dotted orders, nested three
// deep, with inputs and outputs from a few hundred bytes to a few KB of
// words drawn at random, not a repeated constant string, which gzip would
// shrink to nearly nothing (a /runs/batch body of these shrinks about five
// times; the vocabulary is small, so real prose may shrink less).
//
// The text comes from a seeded generator and the ids from uuid.New, so two
// calls with one seed give the same payloads under different ids: each bench
// phase writes the same bytes as new runs.
package synth

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/runs"
)

// Run is one completed run as an SDK sends it in a create, plus what the
// server derives from it (for a path that skips the server).
type Run struct {
	ID          uuid.UUID       `json:"id"`
	TraceID     uuid.UUID       `json:"trace_id"`
	ParentRunID *uuid.UUID      `json:"parent_run_id,omitempty"`
	DottedOrder string          `json:"dotted_order"`
	Name        string          `json:"name"`
	RunType     string          `json:"run_type"`
	SessionName string          `json:"session_name"`
	StartTime   string          `json:"start_time"`
	EndTime     string          `json:"end_time"`
	Inputs      json.RawMessage `json:"inputs"`
	Outputs     json.RawMessage `json:"outputs"`
	Extra       json.RawMessage `json:"extra"`
	Events      json.RawMessage `json:"events"`
	Tags        []string        `json:"tags"`

	// ParentRunIDs are the ancestors, root first (the server derives them
	// from dotted_order).
	ParentRunIDs []uuid.UUID `json:"-"`
	// Prompt and Completion are the llm runs' token counts (the server reads
	// them from outputs.llm_output.token_usage).
	Prompt, Completion uint64 `json:"-"`
}

// TraceSize is the number of runs in one trace.
const TraceSize = 7

// node is one run of the trace's fixed shape.
type node struct {
	name, runType string
	parent        int // index in shape; -1 for the root
	offset, dur   time.Duration
}

// shape is an agent: retrieve, answer, then a tool round and a second
// answer under a sub-chain, and an output parser.
var shape = [TraceSize]node{
	{"agent", "chain", -1, 0, 2400 * time.Millisecond},
	{"retrieve_docs", "retriever", 0, 5 * time.Millisecond, 180 * time.Millisecond},
	{"ChatOpenAI", "llm", 0, 190 * time.Millisecond, 900 * time.Millisecond},
	{"tool_round", "chain", 0, 1100 * time.Millisecond, 1200 * time.Millisecond},
	{"web_search", "tool", 3, 1105 * time.Millisecond, 350 * time.Millisecond},
	{"ChatOpenAI", "llm", 3, 1460 * time.Millisecond, 830 * time.Millisecond},
	{"StrOutputParser", "parser", 0, 2300 * time.Millisecond, 2 * time.Millisecond},
}

// Generate makes n runs in whole traces (the last one cut short when n is not
// a multiple of TraceSize; a cut trace keeps its root and every parent before
// its children). Traces start every 10 ms from start; project names the
// session.
func Generate(n int, seed uint64, start time.Time, project string) []Run {
	g := gen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	out := make([]Run, 0, n)
	for t := 0; len(out) < n; t++ {
		base := start.Add(time.Duration(t) * 10 * time.Millisecond)
		var ids [TraceSize]uuid.UUID
		var dotted [TraceSize]string
		for i, nd := range shape {
			if len(out) == n {
				break
			}
			id := uuid.New()
			ids[i] = id
			begin := base.Add(nd.offset)
			r := Run{
				ID: id, TraceID: ids[0], Name: nd.name, RunType: nd.runType, SessionName: project,
				StartTime: runs.FormatRunTime(begin), EndTime: runs.FormatRunTime(begin.Add(nd.dur)),
				Tags: []string{"bench", "agent-v2"}, ParentRunIDs: []uuid.UUID{},
			}
			part := runs.DottedOrderPart(begin, id)
			if nd.parent < 0 {
				dotted[i] = part
			} else {
				p := ids[nd.parent]
				r.ParentRunID = &p
				dotted[i] = dotted[nd.parent] + "." + part
				for a := nd.parent; a >= 0; a = shape[a].parent {
					r.ParentRunIDs = append([]uuid.UUID{ids[a]}, r.ParentRunIDs...)
				}
			}
			r.DottedOrder = dotted[i]
			g.payload(&r, t)
			r.Events = mustJSON([]map[string]string{
				{"name": "start", "time": r.StartTime}, {"name": "end", "time": r.EndTime},
			})
			out = append(out, r)
		}
	}
	return out
}

type gen struct{ rng *rand.Rand }

// text is about size bytes of words.
func (g gen) text(size int) string {
	var b strings.Builder
	for b.Len() < size {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[g.rng.IntN(len(words))])
	}
	return b.String()
}

// between is a size drawn uniformly from [lo, hi].
func (g gen) between(lo, hi int) int { return lo + g.rng.IntN(hi-lo+1) }

func (g gen) payload(r *Run, trace int) {
	metadata := map[string]any{"thread_id": trace % 997, "user_tier": []string{"free", "pro", "team"}[trace%3],
		"revision_id": "v2.14.0"}
	switch r.RunType {
	case "chain":
		r.Inputs = mustJSON(map[string]any{"question": g.text(g.between(80, 300)), "chat_history": []map[string]string{
			{"role": "user", "content": g.text(g.between(60, 200))},
			{"role": "assistant", "content": g.text(g.between(100, 400))},
		}})
		r.Outputs = mustJSON(map[string]any{"answer": g.text(g.between(300, 1500))})
	case "retriever":
		docs := make([]map[string]any, 4)
		for i := range docs {
			docs[i] = map[string]any{"page_content": g.text(g.between(250, 700)), "type": "Document",
				"metadata": map[string]any{"source": "kb/article-" + words[g.rng.IntN(len(words))] + ".md", "chunk": i}}
		}
		r.Inputs = mustJSON(map[string]any{"query": g.text(g.between(60, 200))})
		r.Outputs = mustJSON(map[string]any{"documents": docs})
	case "llm":
		r.Prompt, r.Completion = uint64(g.between(400, 1800)), uint64(g.between(60, 400))
		r.Inputs = mustJSON(map[string]any{"messages": [][]map[string]any{{
			{"lc": 1, "type": "constructor", "id": []string{"langchain", "schema", "messages", "SystemMessage"},
				"kwargs": map[string]string{"content": g.text(g.between(200, 500))}},
			{"lc": 1, "type": "constructor", "id": []string{"langchain", "schema", "messages", "HumanMessage"},
				"kwargs": map[string]string{"content": g.text(g.between(600, 2500))}},
		}}})
		text := g.text(g.between(200, 1200))
		r.Outputs = mustJSON(map[string]any{
			"generations": [][]map[string]any{{{"text": text, "generation_info": map[string]string{"finish_reason": "stop"}}}},
			"llm_output": map[string]any{"model_name": "gpt-4o-mini", "token_usage": map[string]uint64{
				"prompt_tokens": r.Prompt, "completion_tokens": r.Completion, "total_tokens": r.Prompt + r.Completion}},
		})
		metadata["ls_provider"], metadata["ls_model_name"], metadata["ls_temperature"] = "openai", "gpt-4o-mini", 0.2
	case "tool":
		r.Inputs = mustJSON(map[string]any{"input": g.text(g.between(40, 160))})
		r.Outputs = mustJSON(map[string]any{"output": g.text(g.between(300, 900))})
	default: // parser
		r.Inputs = mustJSON(map[string]any{"input": g.text(g.between(200, 800))})
		r.Outputs = mustJSON(map[string]any{"output": g.text(g.between(200, 800))})
	}
	r.Extra = mustJSON(map[string]any{"metadata": metadata, "runtime": map[string]string{
		"sdk": "langsmith-js", "sdk_version": "0.3.30", "library": "langsmith", "runtime": "node",
		"runtime_version": "v20.18.0", "platform": "linux"}})
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps, slices, strings and numbers are marshalled
	}
	return b
}

// Stored is the row the server would write for r: decoded as the API decodes
// it, with the project's id and what the server derives from the create.
func Stored(r Run, now time.Time) (runs.Run, error) {
	type withSession struct {
		Run
		SessionID uuid.UUID `json:"session_id"`
	}
	data, err := json.Marshal(withSession{Run: r, SessionID: runs.ProjectID(r.SessionName)})
	if err != nil {
		return runs.Run{}, err
	}
	out, err := runs.DecodeRun(data, now)
	if err != nil {
		return runs.Run{}, err
	}
	out.ParentRunIDs = r.ParentRunIDs
	if r.RunType == "llm" {
		out.PromptTokens, out.CompletionTokens, out.TotalTokens = r.Prompt, r.Completion, r.Prompt+r.Completion
	}
	return out, nil
}

// words is the vocabulary of the generated text.
var words = strings.Fields(`the a of to and in is that for it on with as was be by this are or from at which an
not have has but can will if their more when all also they one about into there been would each other these
system user data request response model token latency retrieval document answer question context prompt
completion agent tool search query result error retry timeout cache index vector embedding score threshold
customer order invoice refund shipping account password billing subscription plan upgrade support ticket
priority escalation policy region deployment cluster service endpoint webhook payload schema version release
feature flag experiment metric dashboard alert incident runbook owner team review approve merge branch commit
summary report analysis forecast revenue quarter growth churn retention cohort segment campaign conversion
because however therefore although meanwhile instead otherwise finally first second third next previous
quickly carefully directly usually often rarely never always perhaps likely clearly simply exactly mostly
configure install update delete create restore migrate verify validate compare explain describe suggest
Paris London Berlin Tokyo Madrid Toronto Sydney Lagos Mumbai Seoul January March June September December`)
