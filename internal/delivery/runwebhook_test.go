package delivery_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/secrets"
)

func TestRunWebhookSealsToItsRun(t *testing.T) {
	box, err := secrets.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	run, other := uuid.New(), uuid.New()
	const raw = "https://hooks.example/run?token=s3cret"
	now := time.Now()
	w, err := delivery.SealRunWebhook(box, run, raw, now)
	if err != nil {
		t.Fatal(err)
	}
	if w.RunID != run || w.KeyID != box.CurrentKeyID() || !w.CreatedAt.Equal(now) {
		t.Fatalf("sealed row: %+v", w)
	}
	if strings.Contains(w.URLSealed, "s3cret") || strings.Contains(w.URLRedacted, "s3cret") {
		t.Fatalf("the secret shows in the row: %+v", w)
	}
	if got, err := delivery.OpenRunWebhook(box, w); err != nil || got != raw {
		t.Fatalf("open: %q, %v", got, err)
	}
	// Copied to another run's row, the sealed URL does not open.
	moved := w
	moved.RunID = other
	if _, err := delivery.OpenRunWebhook(box, moved); err == nil {
		t.Fatal("a sealed URL opened for another run")
	} else if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("the error shows the secret: %v", err)
	}
}

func TestRunWebhookWithoutKey(t *testing.T) {
	if _, err := delivery.SealRunWebhook(nil, uuid.New(), "https://hooks.example/x", time.Now()); err == nil {
		t.Fatal("sealed without a key")
	}
	if _, err := delivery.OpenRunWebhook(nil, clickhouse.RunWebhook{RunID: uuid.New()}); err == nil {
		t.Fatal("opened without a key")
	}
}
