package payload

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/runhook/runhook/internal/runs"
)

// Format is the shape of a webhook's body.
type Format string

const (
	// FormatLangSmith is LangSmith's shape, the default: a rule's payload
	// (rule_id, window, runs, feedback_stats), or a run webhook's run. It is
	// the empty string, so rows stored before formats existed keep it.
	FormatLangSmith Format = ""
	// FormatLangGraph posts each run alone, in LangGraph's Run shape, as
	// LangGraph's run-completion webhook does.
	FormatLangGraph Format = "langgraph"
)

// ParseFormat reads a format as a rules file or the config names it:
// "langsmith" (or nothing) and "langgraph".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "", "langsmith":
		return FormatLangSmith, nil
	case string(FormatLangGraph):
		return FormatLangGraph, nil
	}
	return "", fmt.Errorf("format %q is not langsmith or langgraph", s)
}

// String is the name ParseFormat reads.
func (f Format) String() string {
	if f == FormatLangSmith {
		return "langsmith"
	}
	return string(f)
}

// LangGraph's run statuses.
const (
	LangGraphPending     = "pending"
	LangGraphError       = "error"
	LangGraphSuccess     = "success"
	LangGraphTimeout     = "timeout"
	LangGraphInterrupted = "interrupted"
)

// LangGraphRun is a run in LangGraph's Run shape, with the values,
// webhook_sent_at and error its webhook adds. A run whose inputs or outputs
// went by URL (Offload) has a null kwargs.input or values and carries the
// URLs in inputs_s3_urls or outputs_s3_urls, as in LangSmith's shape.
type LangGraphRun struct {
	RunID             string          `json:"run_id"`
	ThreadID          *string         `json:"thread_id"`
	AssistantID       *string         `json:"assistant_id"`
	Status            string          `json:"status"`
	CreatedAt         string          `json:"created_at"`
	UpdatedAt         string          `json:"updated_at"`
	RunStartedAt      string          `json:"run_started_at"`
	RunEndedAt        *string         `json:"run_ended_at"`
	WebhookSentAt     string          `json:"webhook_sent_at"`
	Metadata          json.RawMessage `json:"metadata"`
	Kwargs            LangGraphKwargs `json:"kwargs"`
	Values            json.RawMessage `json:"values"`
	MultitaskStrategy *string         `json:"multitask_strategy"`
	Error             *string         `json:"error"`
	InputsS3URLs      json.RawMessage `json:"inputs_s3_urls,omitempty"`
	OutputsS3URLs     json.RawMessage `json:"outputs_s3_urls,omitempty"`
}

// LangGraphKwargs is what a LangGraph run was called with; a trace knows
// only the input.
type LangGraphKwargs struct {
	Input json.RawMessage `json:"input"`
}

// The extra.metadata keys LangGraph's tracing writes: the server puts
// thread_id, run_id, assistant_id and graph_id in the run's configurable,
// which LangChain copies into the traced metadata. session_id and
// conversation_id are the other keys LangSmith groups threads by.
var (
	threadKeys    = []string{"thread_id", "session_id", "conversation_id"}
	assistantKeys = []string{"assistant_id", "graph_id"}
	runKeys       = []string{"run_id"}
)

// ToLangGraph maps r, as stored, to LangGraph's Run shape, sent at sentAt.
func ToLangGraph(r runs.Run, sentAt time.Time) LangGraphRun {
	meta, fields := metadata(r.Extra)
	out := LangGraphRun{
		RunID:             r.ID.String(),
		ThreadID:          first(fields, threadKeys),
		AssistantID:       first(fields, assistantKeys),
		Status:            LangGraphStatus(r),
		CreatedAt:         runs.FormatWindowTime(r.StartTime),
		UpdatedAt:         runs.FormatWindowTime(r.StartTime),
		RunStartedAt:      runs.FormatWindowTime(r.StartTime),
		WebhookSentAt:     runs.FormatWindowTime(sentAt),
		Metadata:          meta,
		Kwargs:            LangGraphKwargs{Input: r.Inputs},
		Values:            r.Outputs,
		MultitaskStrategy: first(fields, []string{"multitask_strategy"}),
		Error:             r.Error,
		InputsS3URLs:      r.InputsS3URLs,
		OutputsS3URLs:     r.OutputsS3URLs,
	}
	if id := first(fields, runKeys); id != nil {
		out.RunID = *id
	}
	if r.EndTime != nil {
		end := runs.FormatWindowTime(*r.EndTime)
		out.RunEndedAt, out.UpdatedAt = &end, end
	}
	if r.ModifiedAt.After(r.StartTime) && (r.EndTime == nil || r.ModifiedAt.After(*r.EndTime)) {
		out.UpdatedAt = runs.FormatWindowTime(r.ModifiedAt)
	}
	if len(out.Kwargs.Input) == 0 {
		out.Kwargs.Input = nil
	}
	return out
}

// MarshalJSON writes the body as runs.MarshalJSON does: LangGraph's key
// order, < > & unescaped.
func (r LangGraphRun) MarshalJSON() ([]byte, error) {
	type plain LangGraphRun
	return runs.MarshalJSON(plain(r))
}

// LangGraphStatus maps a run's status to LangGraph's. A run that ended
// with an error is a timeout or interrupted when its error is a TimeoutError,
// or a cancellation or GraphInterrupt, and a successful run whose
// outputs hold LangGraph's "__interrupt__" stopped at an interrupt. A run
// not ended is pending.
func LangGraphStatus(r runs.Run) string {
	switch r.Status {
	case "success":
		if hasKey(r.Outputs, "__interrupt__") {
			return LangGraphInterrupted
		}
		return LangGraphSuccess
	case "error":
		msg := ""
		if r.Error != nil {
			msg = *r.Error
		}
		switch errorName(msg) {
		case "TimeoutError":
			return LangGraphTimeout
		case "GraphInterrupt", "NodeInterrupt", "CancelledError", "Cancelled", "AbortError", "KeyboardInterrupt":
			return LangGraphInterrupted
		}
		return LangGraphError
	}
	return LangGraphPending
}

// errorName is the exception's class in a traced error, which starts with
// it: "TimeoutError()" and a traceback from Python, "AbortError: ..." from
// JS, "asyncio.exceptions.CancelledError" qualified. A cause further down a
// traceback is not the run's own error.
func errorName(msg string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(msg), "\n")
	if i := strings.IndexAny(line, "(: "); i >= 0 {
		line = line[:i]
	}
	return line[strings.LastIndex(line, ".")+1:]
}

// metadata is extra.metadata ({} when there is none) and its top-level
// fields.
func metadata(extra json.RawMessage) (json.RawMessage, map[string]json.RawMessage) {
	var e struct {
		Metadata json.RawMessage `json:"metadata"`
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(extra, &e) != nil || json.Unmarshal(e.Metadata, &fields) != nil || fields == nil {
		return json.RawMessage("{}"), nil
	}
	return e.Metadata, fields
}

// first is the first of keys that fields has as a non-empty string or a
// number; nil when none has.
func first(fields map[string]json.RawMessage, keys []string) *string {
	for _, k := range keys {
		raw := bytes.TrimSpace(fields[k])
		if len(raw) == 0 {
			continue
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			if s != "" {
				return &s
			}
			continue
		}
		var n json.Number
		if json.Unmarshal(raw, &n) == nil {
			s = n.String()
			return &s
		}
	}
	return nil
}

// hasKey says whether doc is a JSON object with key at its top level.
func hasKey(doc json.RawMessage, key string) bool {
	var fields map[string]json.RawMessage
	if json.Unmarshal(doc, &fields) != nil {
		return false
	}
	_, ok := fields[key]
	return ok
}

// LangGraph maps r to LangGraph's shape, sent at sentAt, then offloads its
// inputs and outputs as Run does. The status is read before, so a
// "__interrupt__" in large outputs still makes it interrupted.
func (o Offload) LangGraph(r runs.Run, sentAt time.Time) (LangGraphRun, error) {
	status := LangGraphStatus(r)
	if err := o.Run(&r); err != nil {
		return LangGraphRun{}, err
	}
	out := ToLangGraph(r, sentAt)
	out.Status = status
	return out, nil
}
