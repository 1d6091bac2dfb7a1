package runs_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/runhook/runhook/internal/runs"
)

func TestKeyStatsJSON(t *testing.T) {
	avg, stdev, lo, hi := 0.5, 0.25, 0.0, 1.0
	cases := []struct {
		name string
		in   runs.FeedbackStats
		want string
	}{{
		name: "scores, categories and comments; keys sorted",
		in: runs.FeedbackStats{
			"usefulness": {N: 3, Avg: &avg, Stdev: &stdev, Min: &lo, Max: &hi,
				Values: map[string]uint64{"useful": 2, `not "useful"`: 1}, Comments: []string{"a", "b"}},
			"correctness": {N: 1, Avg: &hi, Stdev: &lo, Min: &hi, Max: &hi},
		},
		want: `{"correctness":{"n":1,"avg":1,"stdev":0,"min":1,"max":1,"values":{},"comments":[]},` +
			`"usefulness":{"n":3,"avg":0.5,"stdev":0.25,"min":0,"max":1,"values":{"not \"useful\"":1,"useful":2},"comments":["a","b"]}}`,
	}, {
		name: "no scores: statistics are null, not 0",
		in:   runs.FeedbackStats{"label": {N: 2, Values: map[string]uint64{"x": 2}}},
		want: `{"label":{"n":2,"avg":null,"stdev":null,"min":null,"max":null,"values":{"x":2},"comments":[]}}`,
	}, {
		name: "no feedback",
		in:   nil,
		want: `null`,
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := json.Marshal(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
			// Encoding twice gives the same bytes: payloads are signed.
			again, _ := json.Marshal(c.in)
			if string(again) != string(got) {
				t.Errorf("second encoding differs: %s", again)
			}
		})
	}
}

func TestKeyStatsRoundTrip(t *testing.T) {
	avg := 0.75
	in := runs.FeedbackStats{"k": {N: 2, Avg: &avg, Stdev: &avg, Min: &avg, Max: &avg,
		Values: map[string]uint64{"a": 1}, Comments: []string{"c"}}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out runs.FeedbackStats
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Errorf("round trip: got %+v, want %+v", out, in)
	}
}
