package delivery_test

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/secrets"
)

func TestReseal(t *testing.T) {
	keyA, keyB := bytes.Repeat([]byte{'a'}, 32), bytes.Repeat([]byte{'b'}, 32)
	a, _ := secrets.New(keyA)
	b, _ := secrets.New(keyB, keyA)
	bAlone, _ := secrets.New(keyB)
	now := time.Now().UTC().Truncate(time.Microsecond)
	target := delivery.Target{URL: "https://h.example.test/?secret=x", Headers: map[string]string{"X-K": "v"},
		SigningSecrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}
	w, err := delivery.Seal(a, delivery.URLPolicy{}, uuid.New(), 1, target, now)
	if err != nil {
		t.Fatal(err)
	}
	nw, changed, err := delivery.Reseal(b, w)
	if err != nil || !changed {
		t.Fatalf("Reseal = %v, %v", changed, err)
	}
	if nw.KeyID != b.CurrentKeyID() || !nw.UpdatedAt.Equal(now.Add(time.Microsecond)) || nw.RuleID != w.RuleID || nw.Index != 1 {
		t.Errorf("re-sealed row %+v: want the next version under the current key", nw)
	}
	if got, err := delivery.Open(bAlone, nw); err != nil || got.URL != target.URL || !slices.Equal(got.SigningSecrets, target.SigningSecrets) || got.Headers["X-K"] != "v" {
		t.Errorf("the current key alone opens %+v, %v", got, err)
	}
	if again, changed, err := delivery.Reseal(b, nw); err != nil || changed || again != nw {
		t.Errorf("Reseal of a current row = %v, %v; want it unchanged", changed, err)
	}

	run := uuid.New()
	rw, _ := delivery.SealRunWebhook(a, run, "https://r.example.test/?token=y", now)
	nrw, changed, err := delivery.ResealRunWebhook(b, rw)
	if err != nil || !changed || nrw.KeyID != b.CurrentKeyID() || !nrw.CreatedAt.Equal(now.Add(time.Microsecond)) {
		t.Fatalf("ResealRunWebhook = %+v, %v, %v", nrw, changed, err)
	}
	if url, err := delivery.OpenRunWebhook(bAlone, nrw); err != nil || url != "https://r.example.test/?token=y" {
		t.Errorf("the current key alone opens %q, %v", url, err)
	}
	if _, changed, _ := delivery.ResealRunWebhook(b, nrw); changed {
		t.Error("a current run webhook was re-sealed again")
	}
}
