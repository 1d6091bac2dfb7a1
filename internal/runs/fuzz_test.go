package runs_test

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/runhook/runhook/internal/runs"
)

// The decoders read what any client sends. Whatever the bytes, they return a
// run or an error, never panic, and what they return can be written back.
// Seeds are the fixtures and examples; testdata/fuzz holds a few more and
// every crasher found.

// fuzzLines are the JSON objects of a fixture file, one a line (a lone
// pretty-printed object counts as one).
func fuzzLines(f *testing.F, path string) [][]byte {
	f.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	if !bytes.HasPrefix(bytes.TrimSpace(data), []byte("{\n")) {
		var out [][]byte
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
				out = append(out, bytes.Clone(line))
			}
		}
		if err := sc.Err(); err != nil {
			f.Fatal(err)
		}
		return out
	}
	return [][]byte{data}
}

func runSeeds(f *testing.F) [][]byte {
	seeds := fuzzLines(f, "testdata/seed_run.json")
	seeds = append(seeds, fuzzLines(f, "../../examples/runs.jsonl")[:4]...)
	return append(seeds,
		[]byte(`{}`), []byte(`{"id": null}`), []byte(`[]`), []byte(`{"id": 1e999}`),
		[]byte(`{"id":"`+seedID+`","session_id":"`+seedSession+`","name":"n","run_type":"llm","start_time":1712280534085.646,"end_time":"2024-04-05T01:28:54.085Z"}`),
		[]byte(`{"id":"`+seedID+`","session_id":"`+seedSession+`","name":"n","run_type":"llm","start_time":"2024-04-05 01:28:54","total_cost":"0.5","total_tokens":1e3,"events":[{"name":"new_token","time":1712280534086}],"outputs":{"usage_metadata":{"input_tokens":3,"output_tokens":4.0}}}`),
	)
}

func FuzzDecodeRun(f *testing.F) {
	for _, s := range runSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := runs.DecodeRun(data, now)
		if err != nil {
			return
		}
		out, err := r.MarshalJSON()
		if err != nil {
			t.Fatalf("decoded run does not encode: %v\ninput: %q", err, data)
		}
		if _, err := runs.SizeOf(r); err != nil {
			t.Fatalf("decoded run cannot be measured: %v\ninput: %q", err, data)
		}
		again, err := runs.DecodeRun(out, now)
		if err != nil {
			t.Fatalf("decoded run's JSON does not decode: %v\ninput: %q\njson: %s", err, data, out)
		}
		if out2, _ := again.MarshalJSON(); !bytes.Equal(out, out2) {
			t.Fatalf("round trip changes the run:\n%s\n%s", out, out2)
		}
	})
}

func FuzzDecodeFeedback(f *testing.F) {
	for _, s := range fuzzLines(f, "../../examples/feedback.jsonl")[:3] {
		f.Add(s)
	}
	for _, s := range []string{
		`{}`, `{"id": null}`, `"x"`,
		`{"id":"` + seedID + `","run_id":"` + seedID + `","key":"k","score":true,"value":{"a":[1,2]},"source":{"type":"api"}}`,
		`{"id":"` + seedID + `","run_id":"` + seedID + `","key":"k","score":"1","created_at":1712280534085}`,
		`{"id":"` + seedID + `","run_id":"` + seedID + `","key":"k","score":1e999,"correction":null,"feedback_source":[]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fb, err := runs.DecodeFeedback(data, now)
		if err != nil {
			return
		}
		if _, err := fb.MarshalJSON(); err != nil {
			t.Fatalf("decoded feedback does not encode: %v\ninput: %q", err, data)
		}
	})
}

// FuzzMerge merges one create and one patch, over the seed run as the stored
// version or over none.
func FuzzMerge(f *testing.F) {
	seeds := runSeeds(f)
	for i, s := range seeds {
		f.Add(s, []byte(`{"end_time":"2024-04-05T01:28:55Z","outputs":{"a":1},"session_name":"p"}`), i%2 == 0)
		f.Add([]byte(nil), s, i%2 == 1)
	}
	stored, err := runs.DecodeRun(fuzzLines(f, "testdata/seed_run.json")[0], now)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, create, patch []byte, withStored bool) {
		var creates, patches []runs.Object
		for _, w := range []struct {
			data []byte
			dst  *[]runs.Object
		}{{create, &creates}, {patch, &patches}} {
			if len(w.data) == 0 {
				continue
			}
			o, err := runs.ParseObject(w.data)
			if err != nil {
				return
			}
			*w.dst = append(*w.dst, o)
		}
		var prev *runs.Run
		if withStored {
			st := stored
			prev = &st
		}
		r, err := runs.Merge(creates, prev, patches, now.Add(-time.Hour))
		if err != nil {
			var me *runs.MergeError
			if len(creates)+len(patches) > 0 && !errors.As(err, &me) {
				t.Fatalf("Merge error %T is not a *MergeError: %v", err, err)
			}
			return
		}
		if _, err := r.MarshalJSON(); err != nil {
			t.Fatalf("merged run does not encode: %v", err)
		}
		if prev != nil && !r.ModifiedAt.After(prev.ModifiedAt) {
			t.Fatalf("merged modified_at %v is not after the stored %v", r.ModifiedAt, prev.ModifiedAt)
		}
	})
}
