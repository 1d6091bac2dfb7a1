// Command worker runs runhook's workflows and activities on the configured
// Temporal task queue. Run as many as you like; they share the work.
package main

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/worker"

	"github.com/runhook/runhook/internal/app"
	"github.com/runhook/runhook/internal/schedules"
	"github.com/runhook/runhook/internal/temporal"
	"github.com/runhook/runhook/internal/version"
	"github.com/runhook/runhook/workflows"
)

func main() { app.Main("worker", work) }

func work(ctx context.Context, p app.Process) error {
	cfg, logger := p.Config, p.Logger
	c, err := temporal.Dial(ctx, cfg.Temporal, logger)
	if err != nil {
		return err
	}
	defer c.Close()

	acts, err := app.Activities(cfg, p.Store, logger)
	if err != nil {
		return err
	}
	acts.Schedules = schedules.Manager{Client: c, TaskQueue: cfg.Temporal.TaskQueue}
	if err := app.Alerts(cfg, c, acts); err != nil {
		return err
	}
	if cfg.Metrics.Profiles {
		acts.Metrics.ServeProfiles()
	}
	go func() {
		if err := acts.Metrics.Serve(ctx, cfg.Metrics.Addr); err != nil {
			logger.Error("metrics server", "addr", cfg.Metrics.Addr, "error", err)
		}
	}()

	w := worker.New(c, cfg.Temporal.TaskQueue, app.WorkerOptions(cfg.Worker))
	workflows.Register(w)
	w.RegisterActivity(acts)

	logger.Info("worker starting", "version", version.Version, "task_queue", cfg.Temporal.TaskQueue,
		"temporal", cfg.Temporal.Address, "clickhouse", cfg.ClickHouse.Addr, "database", cfg.ClickHouse.Database)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	<-ctx.Done()
	logger.Info("worker stopping")
	w.Stop()
	return nil
}
