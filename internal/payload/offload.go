package payload

import (
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/runs"
)

// Presigner makes the URL a receiver fetches one field of a run from;
// *presign.Signer is one.
type Presigner interface {
	URL(runID uuid.UUID, field string) string
}

// Offload sends large inputs and outputs by URL, as LangSmith does: a run
// whose inputs (outputs) are longer than MaxBytes carries "inputs": null and
// "inputs_s3_urls": {"ROOT": {"presigned_url": "<url>"}} instead.
type Offload struct {
	// MaxBytes is payload.inline_max_bytes; 0 keeps everything inline.
	MaxBytes int
	// Signer makes the URLs; nil keeps everything inline (no secrets.key to sign with).
	Signer Presigner
}

func (o Offload) enabled() bool { return o.MaxBytes > 0 && o.Signer != nil }

// Run offloads r's inputs and outputs that are longer than MaxBytes. A
// field within the limit, and its stored *_s3_urls, are left as they are.
func (o Offload) Run(r *runs.Run) error {
	if !o.enabled() {
		return nil
	}
	for _, f := range []struct {
		name string
		doc  *json.RawMessage
		urls *json.RawMessage
	}{
		{"inputs", &r.Inputs, &r.InputsS3URLs},
		{"outputs", &r.Outputs, &r.OutputsS3URLs},
	} {
		if !o.offloads(len(*f.doc)) {
			continue
		}
		urls, err := o.urls(r.ID, f.name)
		if err != nil {
			return err
		}
		*f.doc, *f.urls = nil, urls
	}
	return nil
}

// offloads says whether a document of n bytes, as stored, goes by URL.
func (o Offload) offloads(n int) bool { return o.enabled() && n > o.MaxBytes }

// urls is the *_s3_urls document that stands for a run's field.
func (o Offload) urls(runID uuid.UUID, field string) (json.RawMessage, error) {
	urls, err := runs.MarshalJSON(map[string]map[string]string{"ROOT": {"presigned_url": o.Signer.URL(runID, field)}})
	if err != nil {
		return nil, fmt.Errorf("payload: %s_s3_urls of run %s: %w", field, runID, err)
	}
	return urls, nil
}

// Apply offloads every run of p. Batches measures runs as they are, so a
// payload is offloaded before it is split: a run's large inputs then count
// as the length of their URL, not their own.
func (o Offload) Apply(p *Payload) error {
	for i := range p.Runs {
		if err := o.Run(&p.Runs[i]); err != nil {
			return err
		}
	}
	return nil
}
