# runhook — `make dev` brings up everything with demo data, `make test` runs every test.
# Services (ClickHouse, Temporal dev server) are installed and started by
# scripts/services.sh on loopback, with their data under .data/.

SHELL := /bin/bash
GO ?= go
TOOLS := $(CURDIR)/.tools
DATA := $(CURDIR)/.data
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/runhook/runhook/internal/version.Version=$(VERSION)
STATICCHECK_VERSION := v0.8.2
STARTER := bin/starter
DEMO_RUNS := examples/runs.jsonl
DEMO_FEEDBACK := examples/feedback.jsonl

.PHONY: all build services services-down services-status migrate dev dev-down worker-start worker-stop \
	test test-go test-chdb lint bench clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/worker ./worker
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/starter ./starter

services:
	@scripts/services.sh up

services-down:
	@scripts/services.sh down

services-status:
	@scripts/services.sh status

migrate: build services
	$(STARTER) migrate

# Everything, from a fresh machine: services, schema, binaries, one worker, demo data.
dev: services build
	$(STARTER) migrate
	@$(MAKE) --no-print-directory worker-start
	$(STARTER) ingest runs $(DEMO_RUNS)
	$(STARTER) ingest feedback $(DEMO_FEEDBACK)
	$(STARTER) ping
	@echo
	@echo "runhook is up."
	@echo "  Temporal UI:  http://127.0.0.1:8233  (the Ping workflow above is listed there)"
	@echo "  ClickHouse:   clickhouse-client --host 127.0.0.1 --port 9000 --database runhook"
	@echo "  worker log:   $(DATA)/worker.log"
	@echo "  stop all:     make dev-down"

dev-down: worker-stop services-down

worker-start: build
	@mkdir -p $(DATA)
	@if [ -f $(DATA)/worker.pid ] && kill -0 $$(cat $(DATA)/worker.pid) 2>/dev/null; then \
		echo "worker already running (pid $$(cat $(DATA)/worker.pid))"; \
	else \
		nohup bin/worker >>$(DATA)/worker.log 2>&1 & echo $$! >$(DATA)/worker.pid; \
		echo "worker started (pid $$(cat $(DATA)/worker.pid), log $(DATA)/worker.log)"; \
	fi

worker-stop:
	@if [ -f $(DATA)/worker.pid ]; then \
		pid=$$(cat $(DATA)/worker.pid); \
		if kill -0 $$pid 2>/dev/null; then kill $$pid && echo "worker stopped (pid $$pid)"; fi; \
		rm -f $(DATA)/worker.pid; \
	fi

# All tests against the real services, which are started when they are not running.
test: services lint test-go

test-go:
	$(GO) test -count=1 -timeout 20m ./...

# The schema and query shapes on a current ClickHouse (libchdb, in process).
test-chdb:
	bash scripts/chdb.sh test

lint:
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed on:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	@[ -x $(TOOLS)/bin/staticcheck ] || GOBIN=$(TOOLS)/bin $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(TOOLS)/bin/staticcheck ./...

# Takes about 25 minutes on the 2-core machine: match about 11 (loading 10M
# runs is 7 of them), detect about 3, rules about 7 (see bench/RESULTS.md).
bench: services
	$(GO) run ./bench/ingest -runs 1000000
	$(GO) run ./bench/delivery -posts 500 -runs-per-post 10 -concurrency 64
	$(GO) run ./bench/match -runs 10000000 -projects 100 -hours 6 -reps 30
	$(GO) run ./bench/detect -runs 100 -over 150s -interval 5s
	$(GO) run ./bench/rules -rules 1000 -interval 1m -duration 4m

clean:
	rm -rf bin
