package cli_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/runhook/runhook/internal/api"
	"github.com/runhook/runhook/internal/config"
)

func TestAPIKeyNewPrintsAKeyAndItsHash(t *testing.T) {
	keyLine := regexp.MustCompile(`(?m)^  (rhk_[A-Za-z0-9_-]{43})$`)
	hashLine := regexp.MustCompile(`(?m)^  (sha256:[0-9a-f]{64})$`)
	seen := map[string]bool{}
	for range 3 {
		out, errOut, err := run(t, []string{}, "", "apikey", "new")
		if err != nil {
			t.Fatalf("apikey new: %v\n%s", err, errOut)
		}
		key := keyLine.FindStringSubmatch(out)
		hash := hashLine.FindStringSubmatch(out)
		if key == nil || hash == nil {
			t.Fatalf("want a key line and a hash line, got:\n%s", out)
		}
		if hash[1] != api.HashKey(key[1]) || !config.IsKeyHash(hash[1]) {
			t.Errorf("hash %s does not accept key %s", hash[1], key[1])
		}
		if strings.Count(out, key[1]) != 1 {
			t.Errorf("key printed %d times, want once:\n%s", strings.Count(out, key[1]), out)
		}
		if !strings.Contains(out, "RUNHOOK_API_KEY_HASHES") {
			t.Errorf("output does not say where the hash goes:\n%s", out)
		}
		if seen[key[1]] {
			t.Fatalf("key %s made twice", key[1])
		}
		seen[key[1]] = true
	}

	// The printed hash is a valid api.key_hashes entry.
	out, _, _ := run(t, []string{}, "", "apikey", "new")
	hash := hashLine.FindStringSubmatch(out)[1]
	if _, err := config.Load(config.Options{Environ: []string{"RUNHOOK_API_KEY_HASHES=" + hash}}); err != nil {
		t.Errorf("config refuses the printed hash: %v", err)
	}
}
