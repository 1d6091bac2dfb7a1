package cli_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/secrets"
	"github.com/runhook/runhook/internal/testenv"
)

func TestSecretsRotate(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	keyA, keyB := bytes.Repeat([]byte{'A'}, 32), bytes.Repeat([]byte{'B'}, 32)
	b64 := base64.StdEncoding.EncodeToString
	boxA, _ := secrets.New(keyA)
	const (
		url     = "https://hooks.example.test/in?secret=c0ffee5ec7e7"
		runURL  = "https://runs.example.test/done?token=7a11ce5ec7e7"
		header  = "Bearer 0ddba115ec7e7"
		signing = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	)
	rule, runID := uuid.New(), uuid.New()
	w, err := delivery.Seal(boxA, delivery.URLPolicy{}, rule, 0,
		delivery.Target{URL: url, Headers: map[string]string{"Authorization": header}, SigningSecrets: []string{signing}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rw, err := delivery.SealRunWebhook(boxA, runID, runURL, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := store.PutWebhooks(ctx, []clickhouse.Webhook{w}); err != nil {
		t.Fatal(err)
	}
	if err := store.PutRunWebhooks(ctx, []clickhouse.RunWebhook{rw}); err != nil {
		t.Fatal(err)
	}

	rotated := append(dbEnv(store), "RUNHOOK_SECRETS_KEY="+b64(keyB), "RUNHOOK_SECRETS_RETIRED_KEYS="+b64(keyA))
	noSecrets := func(out, errOut string) {
		t.Helper()
		for _, s := range []string{url, "c0ffee5ec7e7", "7a11ce5ec7e7", "0ddba115ec7e7", signing, b64(keyA), b64(keyB), w.URLSealed, rw.URLSealed} {
			if strings.Contains(out+errOut, s) {
				t.Errorf("output shows a secret or sealed value %q:\n%s%s", s, out, errOut)
			}
		}
	}

	out, errOut, err := run(t, rotated, "", "secrets", "rotate")
	if err != nil {
		t.Fatalf("%v\n%s%s", err, out, errOut)
	}
	for _, want := range []string{"webhooks: 1 re-sealed, 0 already current", "run_webhooks: 1 re-sealed, 0 already current", "can be dropped"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	noSecrets(out, errOut)

	out, errOut, err = run(t, rotated, "", "secrets", "rotate")
	if err != nil || !strings.Contains(out, "webhooks: 0 re-sealed, 1 already current") || !strings.Contains(out, "run_webhooks: 0 re-sealed, 1 already current") {
		t.Errorf("second rotate: %v\n%s%s", err, out, errOut)
	}
	noSecrets(out, errOut)

	// A dropped: the current key alone opens everything.
	boxB, _ := secrets.New(keyB)
	got, found, err := store.Webhook(ctx, rule, 0)
	if err != nil || !found {
		t.Fatal(found, err)
	}
	if target, err := delivery.Open(boxB, got); err != nil || target.URL != url || !slices.Equal(target.SigningSecrets, []string{signing}) || target.Headers["Authorization"] != header {
		t.Errorf("after rotation, B alone opens %v", err)
	}
	gotRun, _, err := store.RunWebhook(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	if u, err := delivery.OpenRunWebhook(boxB, gotRun); err != nil || u != runURL {
		t.Errorf("after rotation, B alone opens the run webhook: %v", err)
	}

	// A key that opens nothing: each row is named by id and redacted URL, the command fails.
	other := append(dbEnv(store), "RUNHOOK_SECRETS_KEY="+b64(bytes.Repeat([]byte{'C'}, 32)))
	out, errOut, err = run(t, other, "", "secrets", "rotate")
	if err == nil || !strings.Contains(out, "webhooks: 0 re-sealed, 0 already current, 1 do not open") || !strings.Contains(out, runID.String()) {
		t.Errorf("rotate under an unrelated key: %v\n%s%s", err, out, errOut)
	}
	noSecrets(out, errOut+errString(err))

	if _, _, err := run(t, dbEnv(store), "", "secrets", "rotate"); err == nil || !strings.Contains(err.Error(), "secrets.key is not set") {
		t.Errorf("rotate without a key: %v", err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
