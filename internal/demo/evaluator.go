package demo

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"time"

	"github.com/runhook/runhook/internal/runs"
)

// FeedbackKey is what the evaluator scores, the key the scored-answers
// example rule waits for.
const FeedbackKey = "answer_usefulness"

// Evaluator plays an LLM-as-judge that scores some finished traces a while
// after they end, as an online evaluator does.
type Evaluator struct {
	rng *rand.Rand
	// Rate is the share of root runs scored.
	Rate float64
	// MinDelay and MaxDelay bound how long after a root ends its score arrives.
	MinDelay, MaxDelay time.Duration
}

// NewEvaluator scores 60% of roots 2-20 s after they end.
func NewEvaluator(seed uint64) *Evaluator {
	return &Evaluator{rng: rand.New(rand.NewPCG(seed, 0xfeedbac)), Rate: 0.6, MinDelay: 2 * time.Second, MaxDelay: 20 * time.Second}
}

var source = json.RawMessage(`{"type":"model"}`)

// Score decides whether root gets scored and, if so, returns the feedback,
// created when it is due. Only completed root runs are scored.
func (e *Evaluator) Score(root runs.Run) (runs.Feedback, bool) {
	if !root.IsRoot || root.EndTime == nil || e.rng.Float64() >= e.Rate {
		return runs.Feedback{}, false
	}
	delay := e.MinDelay
	if e.MaxDelay > e.MinDelay {
		delay += time.Duration(e.rng.Int64N(int64(e.MaxDelay - e.MinDelay)))
	}
	at := root.EndTime.Add(delay).Truncate(time.Microsecond)
	// Failed traces rarely answer anything useful.
	score := 0.35 + 0.65*e.rng.Float64()
	if root.Error != nil {
		score = 0.3 * e.rng.Float64()
	}
	score = math.Round(score*100) / 100
	comment := "The answer addresses the question with supporting sources."
	switch {
	case score < 0.4:
		comment = "The answer does not address the question."
	case score < 0.7:
		comment = "Partly useful; the answer misses details the documents contain."
	}
	traceID, session := root.TraceID, root.SessionID
	return runs.Feedback{
		ID: newID(e.rng), RunID: root.ID, TraceID: &traceID, SessionID: &session,
		Key: FeedbackKey, Score: &score, Comment: &comment, Source: source,
		CreatedAt: at, ModifiedAt: at,
	}, true
}
