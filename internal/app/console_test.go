package app_test

import (
	"bytes"
	"encoding/base64"
	"log/slog"
	"strings"
	"testing"

	"github.com/runhook/runhook/internal/app"
	"github.com/runhook/runhook/internal/config"
)

func TestConsoleFromConfig(t *testing.T) {
	cfg := config.Default()
	logger := slog.New(slog.DiscardHandler)
	if _, err := app.Console(cfg, nil, nil, logger); err != nil {
		t.Errorf("defaults, no Temporal: %v", err)
	}
	cfg.Secrets.Key = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
	cfg.API.KeyHashes = []string{"sha256:" + strings.Repeat("ab", 32)}
	if _, err := app.Console(cfg, nil, nil, logger); err != nil {
		t.Errorf("with secrets.key and an API key: %v", err)
	}
	cfg.API.KeyHashes = []string{"md5:x"}
	if _, err := app.Console(cfg, nil, nil, logger); err == nil {
		t.Error("a malformed api.key_hashes entry was accepted")
	}
}
