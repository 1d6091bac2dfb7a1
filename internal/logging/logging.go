// Package logging builds the process logger from the log.* config keys.
package logging

import (
	"io"
	"log/slog"

	"github.com/runhook/runhook/internal/config"
)

// New returns a slog logger writing text or JSON at the configured level.
func New(w io.Writer, cfg config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
