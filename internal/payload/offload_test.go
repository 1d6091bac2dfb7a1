package payload_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/runhook/runhook/internal/payload"
	"github.com/runhook/runhook/internal/presign"
	"github.com/runhook/runhook/internal/runs"
)

func signer(t *testing.T) *presign.Signer {
	t.Helper()
	s, err := presign.New(bytes.Repeat([]byte{3}, 32), nil, "https://runhook.example.com", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOffloadRun(t *testing.T) {
	s := signer(t)
	r := testRuns(t, 0)[0]
	r.Inputs = json.RawMessage(`{"q":"` + strings.Repeat("x", 95) + `"}`)  // 103 bytes
	r.Outputs = json.RawMessage(`{"a":"` + strings.Repeat("y", 92) + `"}`) // exactly 100
	orig := r
	if err := (payload.Offload{MaxBytes: 100, Signer: s}).Run(&r); err != nil {
		t.Fatal(err)
	}
	if r.Inputs != nil || !bytes.Equal(r.Outputs, orig.Outputs) || r.OutputsS3URLs != nil {
		t.Errorf("inputs %q outputs %q outputs_s3_urls %q: want inputs offloaded, outputs (at the limit) inline", r.Inputs, r.Outputs, r.OutputsS3URLs)
	}
	var urls map[string]map[string]string
	if err := json.Unmarshal(r.InputsS3URLs, &urls); err != nil || len(urls) != 1 || len(urls["ROOT"]) != 1 {
		t.Fatalf("inputs_s3_urls = %s (%v)", r.InputsS3URLs, err)
	}
	u, err := url.Parse(urls["ROOT"]["presigned_url"])
	if err != nil {
		t.Fatal(err)
	}
	if id, field, err := s.Verify("GET", u.Path, u.Query()); err != nil || id != r.ID || field != "inputs" {
		t.Errorf("presigned_url verifies as %s %s %v", id, field, err)
	}

	body, err := runs.MarshalJSON(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"inputs":null`, `"inputs_s3_urls":{"ROOT":{"presigned_url":"https://runhook.example.com/presigned/runs/` + r.ID.String() + `/inputs?expires=`, `&signature=`} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("run JSON lacks %s:\n%.600s", want, body)
		}
	}

	for name, o := range map[string]payload.Offload{"no limit": {Signer: s}, "no signer": {MaxBytes: 10}} {
		r := orig
		if err := o.Run(&r); err != nil || !reflect.DeepEqual(r, orig) {
			t.Errorf("%s: run changed (%v)", name, err)
		}
	}
}

// A run whose inputs alone exceed the body limit fits once offloaded, and
// the batches Batches plans from the offloaded payload are what is sent.
func TestBatchesAfterOffload(t *testing.T) {
	now := time.Now()
	rs := testRuns(t, 10, 6<<20, 10, 3<<20)
	p := payload.Payload{RuleID: seedRule, StartTime: now, EndTime: now, Runs: rs}
	const maxBody = 5 << 20
	if _, err := payload.Batches(p, 100, maxBody); !errors.As(err, new(*payload.OversizeError)) {
		t.Fatalf("inline: err = %v, want the 6 MiB run oversize", err)
	}

	p.Runs = append([]runs.Run(nil), rs...)
	if err := (payload.Offload{MaxBytes: 256 << 10, Signer: signer(t)}).Apply(&p); err != nil {
		t.Fatal(err)
	}
	batches, err := payload.Batches(p, 100, maxBody)
	if err != nil {
		t.Fatal(err)
	}
	if len(batches) != 1 || !reflect.DeepEqual(batches[0], idsOf(rs)) {
		t.Errorf("batches %v, want all four runs in one", batches)
	}
	if n := size(t, p, p.Runs); n > 8<<10 {
		t.Errorf("offloaded payload is %d bytes", n)
	}
}
