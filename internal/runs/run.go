// Package runs holds runhook's model of LangSmith runs and feedback: how they
// are read from LangSmith's REST JSON shapes, how a run's writes merge into
// the version stored (Merge, used by the API and the JSON Lines ingest alike),
// and how they are written back in the webhook payload's shape.
package runs

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// RunTypes are the run types LangSmith accepts.
var RunTypes = map[string]bool{
	"llm": true, "chain": true, "tool": true, "retriever": true,
	"embedding": true, "prompt": true, "parser": true,
}

// Run is one LangSmith run. Pointer and json.RawMessage fields are nil when the
// value is null, so null-ness survives a round trip through storage.
type Run struct {
	ID                 uuid.UUID
	TraceID            uuid.UUID
	SessionID          uuid.UUID
	TenantID           *uuid.UUID
	ParentRunID        *uuid.UUID
	ReferenceExampleID *uuid.UUID
	Name               string
	RunType            string
	Status             string
	IsRoot             bool
	DottedOrder        string
	StartTime          time.Time
	EndTime            *time.Time
	ModifiedAt         time.Time
	FirstTokenTime     *time.Time
	LastQueuedAt       *time.Time
	ParentRunIDs       []uuid.UUID
	ChildRunIDs        json.RawMessage // array of UUIDs or null
	DirectChildRunIDs  json.RawMessage // array of UUIDs or null
	TotalTokens        uint64
	PromptTokens       uint64
	CompletionTokens   uint64
	TotalCost          *float64
	PromptCost         *float64
	CompletionCost     *float64
	AppPath            *string
	InDataset          bool
	Tags               []string
	Error              *string
	Inputs             json.RawMessage
	Outputs            json.RawMessage
	InputsS3URLs       json.RawMessage
	OutputsS3URLs      json.RawMessage
	Extra              json.RawMessage
	Events             json.RawMessage
	FeedbackStats      json.RawMessage
	Serialized         json.RawMessage
	ShareToken         *string
	// InsertedAt is the server's insertion time of the version read; zero on input.
	InsertedAt time.Time
}

// DecodeRun reads one run in LangSmith's REST shape. Missing fields that
// LangSmith's server fills in are derived the same way (trace_id and
// dotted_order of a root run, is_root, status, modified_at = now).
// Unknown fields are ignored, as the API does.
func DecodeRun(data []byte, now time.Time) (Run, error) {
	o, err := ParseObject(data)
	if err != nil {
		return Run{}, err
	}
	return decodeRun(o, now)
}

func decodeRun(o Object, now time.Time) (Run, error) {
	var err error
	var r Run
	var first error
	check := func(err error) bool {
		if err != nil && first == nil {
			first = err
		}
		return err == nil
	}
	if id, err := o.uuid("id", true); check(err) {
		r.ID = *id
	}
	if id, err := o.uuid("session_id", true); check(err) {
		r.SessionID = *id
	}
	r.ParentRunID, err = o.uuid("parent_run_id", false)
	check(err)
	traceID, err := o.uuid("trace_id", false)
	check(err)
	r.TenantID, err = o.uuid("tenant_id", false)
	check(err)
	r.ReferenceExampleID, err = o.uuid("reference_example_id", false)
	check(err)
	if s, err := o.str("name", true); check(err) {
		r.Name = *s
	}
	if s, err := o.str("run_type", true); check(err) {
		if !RunTypes[*s] {
			check(fieldErr("run_type", "%q is not one of llm, chain, tool, retriever, embedding, prompt, parser", *s))
		}
		r.RunType = *s
	}
	if t, err := o.time("start_time", true); check(err) {
		r.StartTime = *t
	}
	r.EndTime, err = o.time("end_time", false)
	check(err)
	modified, err := o.time("modified_at", false)
	check(err)
	r.FirstTokenTime, err = o.time("first_token_time", false)
	check(err)
	r.LastQueuedAt, err = o.time("last_queued_at", false)
	check(err)
	status, err := o.str("status", false)
	check(err)
	isRoot, err := o.bool("is_root")
	check(err)
	dotted, err := o.str("dotted_order", false)
	check(err)
	r.ParentRunIDs, err = o.uuids("parent_run_ids")
	check(err)
	if raw, err := o.rawJSON("child_run_ids", '['); check(err) && raw != nil {
		_, err := o.uuids("child_run_ids")
		check(err)
		r.ChildRunIDs = raw
	}
	if raw, err := o.rawJSON("direct_child_run_ids", '['); check(err) && raw != nil {
		_, err := o.uuids("direct_child_run_ids")
		check(err)
		r.DirectChildRunIDs = raw
	}
	r.TotalTokens, err = o.count("total_tokens")
	check(err)
	r.PromptTokens, err = o.count("prompt_tokens")
	check(err)
	r.CompletionTokens, err = o.count("completion_tokens")
	check(err)
	r.TotalCost, err = o.number("total_cost")
	check(err)
	r.PromptCost, err = o.number("prompt_cost")
	check(err)
	r.CompletionCost, err = o.number("completion_cost")
	check(err)
	r.AppPath, err = o.str("app_path", false)
	check(err)
	if b, err := o.bool("in_dataset"); check(err) && b != nil {
		r.InDataset = *b
	}
	r.Tags, err = o.strings("tags")
	check(err)
	r.Error, err = o.str("error", false)
	check(err)
	r.ShareToken, err = o.str("share_token", false)
	check(err)
	for _, f := range []struct {
		name string
		kind byte
		dst  *json.RawMessage
	}{
		{"inputs", '{', &r.Inputs}, {"outputs", '{', &r.Outputs},
		{"inputs_s3_urls", '{', &r.InputsS3URLs}, {"outputs_s3_urls", '{', &r.OutputsS3URLs},
		{"extra", '{', &r.Extra}, {"events", '[', &r.Events},
		{"feedback_stats", '{', &r.FeedbackStats}, {"serialized", '{', &r.Serialized},
	} {
		*f.dst, err = o.rawJSON(f.name, f.kind)
		check(err)
	}
	if first != nil {
		return Run{}, first
	}

	if r.EndTime != nil && r.EndTime.Before(r.StartTime) {
		return Run{}, fieldErr("end_time", "%s is before start_time %s", FormatRunTime(*r.EndTime), FormatRunTime(r.StartTime))
	}
	switch {
	case traceID != nil:
		r.TraceID = *traceID
	case r.ParentRunID == nil:
		r.TraceID = r.ID
	default:
		return Run{}, fieldErr("trace_id", "required for a run with a parent_run_id")
	}
	if isRoot != nil {
		r.IsRoot = *isRoot
	} else {
		r.IsRoot = r.ParentRunID == nil
	}
	if dotted != nil {
		r.DottedOrder = *dotted
	} else if r.IsRoot {
		r.DottedOrder = DottedOrderPart(r.StartTime, r.ID)
	}
	if status != nil {
		r.Status = *status
	} else {
		r.Status = deriveStatus(r)
	}
	if modified != nil {
		r.ModifiedAt = *modified
	} else {
		r.ModifiedAt = now.UTC().Truncate(time.Microsecond)
	}
	if r.ParentRunIDs == nil {
		r.ParentRunIDs = []uuid.UUID{}
	}
	if r.Tags == nil {
		r.Tags = []string{}
	}
	return r, nil
}

func deriveStatus(r Run) string {
	switch {
	case r.Error != nil:
		return "error"
	case r.EndTime != nil:
		return "success"
	default:
		return "pending"
	}
}

// DottedOrderPart is one segment of LangSmith's dotted_order: the start time
// and the run id, e.g. 20230505T051324571809Z6ab80f10-d79c-4fa2-b441-922ed6feb630.
func DottedOrderPart(start time.Time, id uuid.UUID) string {
	start = start.UTC()
	return fmt.Sprintf("%s%06dZ%s", start.Format("20060102T150405"), start.Nanosecond()/1000, id)
}

// Completed is true once the run has ended; only completed runs match rules.
func (r Run) Completed() bool { return r.EndTime != nil }

// runJSON is the webhook payload's run, field for field as in the seed example.
type runJSON struct {
	Status            string          `json:"status"`
	IsRoot            bool            `json:"is_root"`
	TraceID           uuid.UUID       `json:"trace_id"`
	DottedOrder       string          `json:"dotted_order"`
	RunType           string          `json:"run_type"`
	ModifiedAt        string          `json:"modified_at"`
	TenantID          *uuid.UUID      `json:"tenant_id"`
	EndTime           *string         `json:"end_time"`
	Name              string          `json:"name"`
	StartTime         string          `json:"start_time"`
	ID                uuid.UUID       `json:"id"`
	SessionID         uuid.UUID       `json:"session_id"`
	ParentRunID       *uuid.UUID      `json:"parent_run_id"`
	ParentRunIDs      []uuid.UUID     `json:"parent_run_ids"`
	ChildRunIDs       json.RawMessage `json:"child_run_ids"`
	DirectChildRunIDs json.RawMessage `json:"direct_child_run_ids"`
	TotalTokens       uint64          `json:"total_tokens"`
	CompletionTokens  uint64          `json:"completion_tokens"`
	PromptTokens      uint64          `json:"prompt_tokens"`
	TotalCost         *float64        `json:"total_cost"`
	CompletionCost    *float64        `json:"completion_cost"`
	PromptCost        *float64        `json:"prompt_cost"`
	FirstTokenTime    *string         `json:"first_token_time"`
	AppPath           *string         `json:"app_path"`
	InDataset         bool            `json:"in_dataset"`
	LastQueuedAt      *string         `json:"last_queued_at"`
	Inputs            json.RawMessage `json:"inputs"`
	InputsS3URLs      json.RawMessage `json:"inputs_s3_urls"`
	Outputs           json.RawMessage `json:"outputs"`
	OutputsS3URLs     json.RawMessage `json:"outputs_s3_urls"`
	Extra             json.RawMessage `json:"extra"`
	Events            json.RawMessage `json:"events"`
	FeedbackStats     json.RawMessage `json:"feedback_stats"`
	Serialized        json.RawMessage `json:"serialized"`
	ShareToken        *string         `json:"share_token"`
	Tags              []string        `json:"tags"`
	Error             *string         `json:"error"`
	ReferenceExample  *uuid.UUID      `json:"reference_example_id"`
}

var jsonNull = json.RawMessage("null")

func orNull(raw json.RawMessage) json.RawMessage {
	if raw == nil {
		return jsonNull
	}
	return raw
}

func optTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := FormatRunTime(*t)
	return &s
}

// Lists are the run's tags and parent run ids, empty rather than nil: the
// payload's JSON and ClickHouse's arrays both want [] for none.
func (r Run) Lists() (tags []string, parents []uuid.UUID) {
	tags, parents = r.Tags, r.ParentRunIDs
	if tags == nil {
		tags = []string{}
	}
	if parents == nil {
		parents = []uuid.UUID{}
	}
	return tags, parents
}

// MarshalJSON writes the run in the webhook payload's shape.
func (r Run) MarshalJSON() ([]byte, error) {
	tags, parents := r.Lists()
	return MarshalJSON(runJSON{
		Status: r.Status, IsRoot: r.IsRoot, TraceID: r.TraceID, DottedOrder: r.DottedOrder,
		RunType: r.RunType, ModifiedAt: FormatRunTime(r.ModifiedAt), TenantID: r.TenantID,
		EndTime: optTime(r.EndTime), Name: r.Name, StartTime: FormatRunTime(r.StartTime),
		ID: r.ID, SessionID: r.SessionID, ParentRunID: r.ParentRunID, ParentRunIDs: parents,
		ChildRunIDs: orNull(r.ChildRunIDs), DirectChildRunIDs: orNull(r.DirectChildRunIDs),
		TotalTokens: r.TotalTokens, CompletionTokens: r.CompletionTokens, PromptTokens: r.PromptTokens,
		TotalCost: r.TotalCost, CompletionCost: r.CompletionCost, PromptCost: r.PromptCost,
		FirstTokenTime: optTime(r.FirstTokenTime), AppPath: r.AppPath, InDataset: r.InDataset,
		LastQueuedAt: optTime(r.LastQueuedAt),
		Inputs:       orNull(r.Inputs), InputsS3URLs: orNull(r.InputsS3URLs),
		Outputs: orNull(r.Outputs), OutputsS3URLs: orNull(r.OutputsS3URLs),
		Extra: orNull(r.Extra), Events: orNull(r.Events), FeedbackStats: orNull(r.FeedbackStats),
		Serialized: orNull(r.Serialized), ShareToken: r.ShareToken, Tags: tags, Error: r.Error,
		ReferenceExample: r.ReferenceExampleID,
	})
}

// String names the run without its body, for logs.
func (r Run) String() string { return fmt.Sprintf("run %s (%s %q)", r.ID, r.RunType, r.Name) }
