package rotate_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/secrets"
	"github.com/runhook/runhook/internal/secrets/rotate"
	"github.com/runhook/runhook/internal/testenv"
)

func box(t *testing.T, current byte, retired ...byte) *secrets.Box {
	t.Helper()
	var old [][]byte
	for _, b := range retired {
		old = append(old, bytes.Repeat([]byte{b}, 32))
	}
	b, err := secrets.New(bytes.Repeat([]byte{current}, 32), old...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const (
	hookURL = "https://hooks.example.test/in?secret=5f1c0ffee"
	runURL  = "https://runs.example.test/done?token=7a11ce"
	signing = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
)

// stored writes, under box, a rule with two webhooks (one with headers and
// a signing secret) and n run webhooks.
func stored(t *testing.T, store *clickhouse.Store, box *secrets.Box, n int) (uuid.UUID, []uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	rule, now := uuid.New(), time.Now()
	var hooks []clickhouse.Webhook
	for i, target := range []delivery.Target{
		{URL: hookURL, Headers: map[string]string{"Authorization": "Bearer 0ddba11"}, SigningSecrets: []string{signing}},
		{URL: hookURL + "&second=1"},
	} {
		w, err := delivery.Seal(box, delivery.URLPolicy{}, rule, uint16(i), target, now)
		if err != nil {
			t.Fatal(err)
		}
		hooks = append(hooks, w)
	}
	if err := store.PutWebhooks(ctx, hooks); err != nil {
		t.Fatal(err)
	}
	var ids []uuid.UUID
	var rws []clickhouse.RunWebhook
	for range n {
		id := uuid.New()
		w, err := delivery.SealRunWebhook(box, id, runURL, now)
		if err != nil {
			t.Fatal(err)
		}
		ids, rws = append(ids, id), append(rws, w)
	}
	if err := store.PutRunWebhooks(ctx, rws); err != nil {
		t.Fatal(err)
	}
	return rule, ids
}

// opensAll checks that box alone opens every stored value, in the clear as written.
func opensAll(t *testing.T, store *clickhouse.Store, box *secrets.Box, rule uuid.UUID, runs []uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	hooks, err := store.Webhooks(ctx, rule)
	if err != nil || len(hooks) != 2 {
		t.Fatalf("webhooks = %d, %v", len(hooks), err)
	}
	first, err := delivery.Open(box, hooks[0])
	if err != nil {
		t.Fatalf("webhook 0: %v", err)
	}
	if first.URL != hookURL || !slices.Equal(first.SigningSecrets, []string{signing}) || first.Headers["Authorization"] != "Bearer 0ddba11" {
		t.Errorf("webhook 0 opens as %+v", first)
	}
	if second, err := delivery.Open(box, hooks[1]); err != nil || second.URL != hookURL+"&second=1" {
		t.Errorf("webhook 1 opens as %+v, %v", second, err)
	}
	for _, id := range runs {
		w, found, err := store.RunWebhook(ctx, id)
		if err != nil || !found {
			t.Fatalf("run %s webhook: %v, %v", id, found, err)
		}
		if url, err := delivery.OpenRunWebhook(box, w); err != nil || url != runURL {
			t.Errorf("run %s webhook opens as %q, %v", id, url, err)
		}
	}
}

func TestRotate(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	a := box(t, 'A')
	rule, runs := stored(t, store, a, 5)

	// Key B is current, A retired: everything still opens, through A.
	b := box(t, 'B', 'A')
	opensAll(t, store, b, rule, runs)
	if _, err := delivery.Open(box(t, 'B'), mustWebhooks(t, store, rule)[0]); err == nil {
		t.Fatal("B alone opens a value sealed under A before the rotation")
	}

	r := rotate.Rotator{Store: store, Box: b, Page: 2}
	res, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := rotate.Result{Webhooks: rotate.Count{Resealed: 2}, RunWebhooks: rotate.Count{Resealed: 5}}
	if res.Webhooks != want.Webhooks || res.RunWebhooks != want.RunWebhooks || len(res.Failures) != 0 {
		t.Errorf("first rotation = %+v, want %+v", res, want)
	}

	// A dropped: B alone opens everything.
	opensAll(t, store, box(t, 'B'), rule, runs)
	for _, w := range mustWebhooks(t, store, rule) {
		if w.KeyID != b.CurrentKeyID() {
			t.Errorf("webhook %d key_id = %s, want %s", w.Index, w.KeyID, b.CurrentKeyID())
		}
	}

	// Idempotent: a second run re-seals nothing.
	res, err = r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want = rotate.Result{Webhooks: rotate.Count{Current: 2}, RunWebhooks: rotate.Count{Current: 5}}
	if res.Webhooks != want.Webhooks || res.RunWebhooks != want.RunWebhooks {
		t.Errorf("second rotation = %+v, want %+v", res, want)
	}
}

func TestRotateCountsWhatDoesNotOpen(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	_, lost := stored(t, store, box(t, 'Z'), 1) // under a key no longer configured
	rule, runs := stored(t, store, box(t, 'A'), 2)

	res, err := rotate.Rotator{Store: store, Box: box(t, 'B', 'A')}.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Webhooks != (rotate.Count{Resealed: 2, Failed: 2}) || res.RunWebhooks != (rotate.Count{Resealed: 2, Failed: 1}) {
		t.Errorf("rotation = %+v", res)
	}
	if len(res.Failures) != 3 || !strings.Contains(strings.Join(res.Failures, "\n"), lost[0].String()) {
		t.Errorf("failures = %q, want the three rows named", res.Failures)
	}
	for _, f := range res.Failures {
		for _, secret := range []string{"5f1c0ffee", "7a11ce", "0ddba11", signing} {
			if strings.Contains(f, secret) {
				t.Errorf("failure %q shows a secret", f)
			}
		}
	}
	opensAll(t, store, box(t, 'B'), rule, runs)
}

func mustWebhooks(t *testing.T, store *clickhouse.Store, rule uuid.UUID) []clickhouse.Webhook {
	t.Helper()
	ws, err := store.Webhooks(context.Background(), rule)
	if err != nil {
		t.Fatal(err)
	}
	return ws
}
