package runs

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Feedback is one LangSmith feedback row: a score or value under a key, on a run.
type Feedback struct {
	ID         uuid.UUID
	RunID      uuid.UUID
	TraceID    *uuid.UUID
	SessionID  *uuid.UUID
	Key        string
	Score      *float64
	Value      json.RawMessage // any JSON, nil = null
	Comment    *string
	Correction json.RawMessage
	Source     json.RawMessage // LangSmith's feedback_source object
	CreatedAt  time.Time
	ModifiedAt time.Time
	InsertedAt time.Time
}

// DecodeFeedback reads one feedback object in LangSmith's REST shape. A boolean
// score counts as 1 or 0, as LangSmith stores it. created_at and modified_at
// default to now.
func DecodeFeedback(data []byte, now time.Time) (Feedback, error) {
	o, err := ParseObject(data)
	if err != nil {
		return Feedback{}, err
	}
	var f Feedback
	id, err := o.uuid("id", true)
	if err != nil {
		return Feedback{}, err
	}
	f.ID = *id
	runID, err := o.uuid("run_id", true)
	if err != nil {
		return Feedback{}, err
	}
	f.RunID = *runID
	if f.TraceID, err = o.uuid("trace_id", false); err != nil {
		return Feedback{}, err
	}
	if f.SessionID, err = o.uuid("session_id", false); err != nil {
		return Feedback{}, err
	}
	key, err := o.str("key", true)
	if err != nil {
		return Feedback{}, err
	}
	f.Key = *key
	if o.Present("score") {
		raw := bytes.TrimSpace(o["score"])
		switch string(raw) {
		case "true":
			one := 1.0
			f.Score = &one
		case "false":
			zero := 0.0
			f.Score = &zero
		default:
			if raw[0] == '"' {
				return Feedback{}, fieldErr("score", "want a number or a boolean")
			}
			if f.Score, err = o.number("score"); err != nil {
				return Feedback{}, err
			}
		}
	}
	if f.Value, err = o.rawJSON("value", 0); err != nil {
		return Feedback{}, err
	}
	if f.Comment, err = o.str("comment", false); err != nil {
		return Feedback{}, err
	}
	if f.Correction, err = o.rawJSON("correction", 0); err != nil {
		return Feedback{}, err
	}
	sourceField := "feedback_source"
	if !o.Present(sourceField) {
		sourceField = "source"
	}
	if f.Source, err = o.rawJSON(sourceField, '{'); err != nil {
		return Feedback{}, err
	}
	nowUTC := now.UTC().Truncate(time.Microsecond)
	created, err := o.time("created_at", false)
	if err != nil {
		return Feedback{}, err
	}
	f.CreatedAt = nowUTC
	if created != nil {
		f.CreatedAt = *created
	}
	modified, err := o.time("modified_at", false)
	if err != nil {
		return Feedback{}, err
	}
	f.ModifiedAt = f.CreatedAt
	if modified != nil {
		f.ModifiedAt = *modified
	} else if created == nil {
		f.ModifiedAt = nowUTC
	}
	return f, nil
}

type feedbackJSON struct {
	ID             uuid.UUID       `json:"id"`
	RunID          uuid.UUID       `json:"run_id"`
	TraceID        *uuid.UUID      `json:"trace_id"`
	SessionID      *uuid.UUID      `json:"session_id"`
	Key            string          `json:"key"`
	Score          *float64        `json:"score"`
	Value          json.RawMessage `json:"value"`
	Comment        *string         `json:"comment"`
	Correction     json.RawMessage `json:"correction"`
	FeedbackSource json.RawMessage `json:"feedback_source"`
	CreatedAt      string          `json:"created_at"`
	ModifiedAt     string          `json:"modified_at"`
}

// MarshalJSON writes the feedback in LangSmith's REST shape.
func (f Feedback) MarshalJSON() ([]byte, error) {
	return MarshalJSON(feedbackJSON{
		ID: f.ID, RunID: f.RunID, TraceID: f.TraceID, SessionID: f.SessionID, Key: f.Key,
		Score: f.Score, Value: orNull(f.Value), Comment: f.Comment, Correction: orNull(f.Correction),
		FeedbackSource: orNull(f.Source),
		CreatedAt:      FormatRunTime(f.CreatedAt), ModifiedAt: FormatRunTime(f.ModifiedAt),
	})
}
