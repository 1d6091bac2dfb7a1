package runs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"

	"github.com/google/uuid"
)

// Size is what a run adds to a payload, in parts stored beside the run, so
// that a delivery can be planned from a few small columns instead of the
// run's documents. Base is the run's JSON with inputs, outputs, their
// *_s3_urls and feedback_stats all null. For inputs and outputs each, the
// first number is the document's stored length (what offloading compares to
// its limit) and Inline is what writing the document and its *_s3_urls adds to
// Base.
type Size struct {
	ID              uuid.UUID
	Base            uint32
	Inputs, Outputs uint32
	// Inline is signed: a document as short as 1 is shorter than the null it replaces.
	InputsInline, OutputsInline int32
}

// Known reports whether the size was stored: runs written before sizes were
// have none, and are measured from their documents.
func (s Size) Known() bool { return s.Base > 0 }

// SizeOf measures r as MarshalJSON writes it.
func SizeOf(r Run) (Size, error) {
	bare := r
	bare.Inputs, bare.Outputs, bare.InputsS3URLs, bare.OutputsS3URLs, bare.FeedbackStats = nil, nil, nil, nil, nil
	base, err := bare.MarshalJSON()
	if err != nil {
		return Size{}, fmt.Errorf("size of run %s: %w", r.ID, err)
	}
	s := Size{ID: r.ID, Base: clamp(len(base)), Inputs: clamp(len(r.Inputs)), Outputs: clamp(len(r.Outputs))}
	if s.InputsInline, err = inline(r.Inputs, r.InputsS3URLs); err != nil {
		return Size{}, fmt.Errorf("size of run %s inputs: %w", r.ID, err)
	}
	if s.OutputsInline, err = inline(r.Outputs, r.OutputsS3URLs); err != nil {
		return Size{}, fmt.Errorf("size of run %s outputs: %w", r.ID, err)
	}
	return s, nil
}

// inline is what a document and its URLs add over two nulls: MarshalJSON
// writes raw JSON compacted.
func inline(doc, urls json.RawMessage) (int32, error) {
	n := 0
	for _, raw := range []json.RawMessage{doc, urls} {
		if raw == nil {
			continue
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return 0, err
		}
		n += buf.Len() - len(jsonNull)
	}
	return int32(min(n, math.MaxInt32)), nil
}

func clamp(n int) uint32 { return uint32(min(n, math.MaxUint32)) }
