// Command server is runhook's LangSmith-compatible API: point the LangSmith
// SDKs at it (LANGSMITH_ENDPOINT, LANGSMITH_API_KEY) and their runs and
// feedback land in the ClickHouse tables the rules read. It also serves the
// rules API (GET /rules, PUT /rules, ...) under the same API key.
package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/runhook/runhook/internal/api"
	"github.com/runhook/runhook/internal/app"
	"github.com/runhook/runhook/internal/console"
	"github.com/runhook/runhook/internal/temporal"
	"github.com/runhook/runhook/internal/version"
)

func main() { app.Main("server", serve) }

func serve(ctx context.Context, p app.Process) error {
	cfg, logger, store := p.Config, p.Logger, p.Store

	// Run-completion webhooks start workflows; with them disabled the API
	// needs no Temporal at all.
	var tc client.Client
	if !cfg.HTTP.DisableWebhooks {
		var err error
		if tc, err = temporal.Dial(ctx, cfg.Temporal, logger); err != nil {
			return err
		}
		defer tc.Close()
	}
	hooks, err := app.RunHooks(cfg, store, tc, logger)
	if err != nil {
		return err
	}
	// The rules API shares the Temporal client; without one it answers 503.
	rules, err := app.RuleService(cfg, store, tc)
	if err != nil {
		return err
	}
	presigned, err := app.Presigned(cfg, store)
	if err != nil {
		return err
	}

	cons, err := app.Console(cfg, store, tc, logger)
	if err != nil {
		return err
	}
	// The console beside the API, on the same address: it answers loopback
	// only unless api.key_hashes lets a person log in.
	mux := http.NewServeMux()
	consoleHandler := cons.Handler()
	mux.Handle(console.Prefix+"/", consoleHandler)
	mux.Handle(console.Prefix, consoleHandler)
	mux.Handle("/", api.New(api.Options{
		Store:        store,
		KeyHashes:    cfg.API.KeyHashes,
		MaxBodyBytes: cfg.API.MaxBodyBytes,
		Logger:       logger,
		Webhooks:     hooks,
		Presigned:    presigned, // nil without secrets.key: /presigned/ is then 404
		Rules:        rules,
	}))

	srv := &http.Server{
		Addr:              cfg.API.Addr,
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		// Bodies go up to api.max_body_bytes (64 MiB by default) from clients
		// on slow links.
		ReadTimeout:  2 * time.Minute,
		WriteTimeout: 2 * time.Minute,
		IdleTimeout:  2 * time.Minute,
	}
	ln, err := net.Listen("tcp", cfg.API.Addr)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("server listening", "version", version.Version, "addr", cfg.API.Addr,
		"clickhouse", cfg.ClickHouse.Addr, "database", cfg.ClickHouse.Database, "api_keys", len(cfg.API.KeyHashes),
		"console", console.Prefix+"/")
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("server stopping")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
