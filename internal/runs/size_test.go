package runs_test

import (
	"encoding/json"
	"testing"

	"github.com/runhook/runhook/internal/runs"
)

// A run's size parts add up to its JSON, whatever shape its documents have:
// null, the JSON null, a bare number (shorter than null), spaced JSON
// (written compacted), and *_s3_urls stored beside inline documents.
func TestSizeOfAddsUp(t *testing.T) {
	seed, err := runs.DecodeRun(readFile(t, "testdata/seed_run.json"), now)
	if err != nil {
		t.Fatal(err)
	}
	full, err := runs.DecodeRun([]byte(fullRunLine(t)), now)
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]json.RawMessage{
		"nil": nil, "null": json.RawMessage(`null`), "number": json.RawMessage(`1`),
		"spaced":  json.RawMessage("{ \"q\" : [1, 2,\n 3], \"s\": \"a  b\" }"),
		"unicode": json.RawMessage(`{"q":"\u00e9 é <&>"}`),
	}
	for _, base := range []runs.Run{seed, full} {
		for in, inputs := range docs {
			for out, outputs := range docs {
				r := base
				r.Inputs, r.Outputs, r.OutputsS3URLs = inputs, outputs, docs["spaced"]
				r.FeedbackStats = json.RawMessage(`{"k":{"n":1}}`) // never counted: Build replaces it
				s, err := runs.SizeOf(r)
				if err != nil {
					t.Fatal(err)
				}
				r.FeedbackStats = nil
				body, err := runs.MarshalJSON(r)
				if err != nil {
					t.Fatal(err)
				}
				if got := int(s.Base) + int(s.InputsInline) + int(s.OutputsInline); got != len(body) || !s.Known() {
					t.Errorf("%s inputs, %s outputs: parts add up to %d, JSON is %d bytes (%+v)", in, out, got, len(body), s)
				}
				if s.ID != r.ID || int(s.Inputs) != len(inputs) || int(s.Outputs) != len(outputs) {
					t.Errorf("%s inputs, %s outputs: %+v", in, out, s)
				}
			}
		}
	}
	if _, err := runs.SizeOf(runs.Run{Inputs: json.RawMessage(`{`)}); err == nil {
		t.Error("a run with broken inputs was sized")
	}
}
