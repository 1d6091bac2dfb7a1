package runs

// KeyStats summarises the current feedback under one key, as the webhook
// payload's feedback_stats carries it. The score statistics are nil (null)
// when no feedback under the key has a score.
type KeyStats struct {
	N     uint64   `json:"n"`
	Avg   *float64 `json:"avg"`
	Stdev *float64 `json:"stdev"` // population standard deviation
	Min   *float64 `json:"min"`
	Max   *float64 `json:"max"`
	// Values counts categorical feedback: a value that is a JSON string counts
	// under that string; other values (numbers, objects, null) are not categories.
	Values map[string]uint64 `json:"values"`
	// Comments are the non-empty comments, oldest feedback first.
	Comments []string `json:"comments"`
}

// MarshalJSON writes values and comments as {} and [] when there are none, so
// a receiver sees the same shape for every key.
func (s KeyStats) MarshalJSON() ([]byte, error) {
	type plain KeyStats // without this method, or Marshal would recurse
	p := plain(s)
	if p.Values == nil {
		p.Values = map[string]uint64{}
	}
	if p.Comments == nil {
		p.Comments = []string{}
	}
	return MarshalJSON(p)
}

// FeedbackStats is feedback_stats: KeyStats by feedback key. It encodes with
// its keys sorted (encoding/json sorts map keys), so equal stats give equal bytes.
type FeedbackStats map[string]KeyStats
