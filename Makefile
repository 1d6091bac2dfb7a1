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

.PHONY: all build services services-down services-status services-prod services-prod-down services-prod-status \
	migrate dev dev-down worker-start worker-stop \
	test test-go test-e2e-prod test-chdb fuzz lint bench bench-quick clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/worker ./worker
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/starter ./starter
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/server ./server

services:
	@scripts/services.sh up

services-down:
	@scripts/services.sh down

services-status:
	@scripts/services.sh status

# The production shape of Temporal beside the dev server: the Temporal server
# with 4 history shards on PostgreSQL, frontend 127.0.0.1:7333.
services-prod:
	@scripts/services.sh up-prod

services-prod-down:
	@scripts/services.sh down-prod

services-prod-status:
	@scripts/services.sh status-prod

migrate: build services
	$(STARTER) migrate

# Everything, from a fresh machine: services, schema, binaries, one worker, the
# example rules, a local webhook inbox and a demo traffic generator.
dev: services build
	@scripts/dev.sh up

dev-down:
	@scripts/dev.sh down
	@scripts/services.sh down

worker-start: build
	@scripts/dev.sh start-worker

worker-stop:
	@scripts/dev.sh stop-worker

# All tests against the real services, which are started when they are not running.
test: services lint test-go fuzz

test-go:
	$(GO) test -count=1 -timeout 20m ./...

# The end-to-end package once more, on the Temporal server with PostgreSQL
# and several shards (the outage tests still run a dev server of their own).
test-e2e-prod: services services-prod
	RUNHOOK_TEMPORAL_ADDRESS=127.0.0.1:7333 $(GO) test -count=1 -timeout 20m ./internal/e2e/

# Each fuzz target for FUZZTIME (8s: about 70s in all), failing on a
# crash; `FUZZTIME=60s make fuzz` searches longer. See scripts/fuzz.sh.
fuzz:
	GO=$(GO) scripts/fuzz.sh

# The schema and query shapes on a current ClickHouse (libchdb, in process).
test-chdb:
	bash scripts/chdb.sh test

lint:
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed on:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	@[ -x $(TOOLS)/bin/staticcheck ] || GOBIN=$(TOOLS)/bin $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(TOOLS)/bin/staticcheck ./...

# Took 44 minutes on the 2-core machine (2026-11-23): api about 18 before its
# ingest fix (6 after), match about 8, rules and scaling about 7 each, detect
# about 3 (see bench/RESULTS.md). Issue 12 added floor, delivery at 100 runs a
# POST, runwebhooks and 5,000 rules: about 11 minutes more, measured one by one
# (2026-12-05), the 5,000 rules 9 of them. Issue 13 added match on 30 million runs (13 minutes, most
# of it loading), lookup (1 minute), and 1,000 rules' ticks to match on 10 million (5 minutes in all).
# Each bench writes its figures to
# .data/bench/NAME.json; bench/report prints them as one table and keeps it in
# .data/bench/table.md. If a bench fails, the results already written stay:
# rerun that bench with its -json flag, then `go run ./bench/report .data/bench`.
BENCH_OUT := $(DATA)/bench
# The delivery and rules benches run again on the production engine
# (services-prod: PostgreSQL persistence, 4 history shards, on PROD_TEMPORAL).
PROD_TEMPORAL := 127.0.0.1:7333
PROD_ENGINE := PostgreSQL, 4 shards
bench: services services-prod
	rm -rf $(BENCH_OUT) && mkdir -p $(BENCH_OUT)
	$(GO) run ./bench/ingest -runs 1000000 -json $(BENCH_OUT)/ingest.json
	$(GO) run ./bench/api -runs 100000 -batch 100 -concurrency 8 -json $(BENCH_OUT)/api.json
	$(GO) run ./bench/floor -workflows 500 -activities 2000 -local 5000 -json $(BENCH_OUT)/floor.json
	$(GO) run ./bench/delivery -posts 500 -runs-per-post 10 -concurrency 64 -json $(BENCH_OUT)/delivery.json
	$(GO) run ./bench/delivery -posts 500 -runs-per-post 100 -concurrency 64 -json $(BENCH_OUT)/delivery-100.json
	RUNHOOK_TEMPORAL_ADDRESS=$(PROD_TEMPORAL) $(GO) run ./bench/delivery -posts 500 -runs-per-post 10 -concurrency 64 -engine "$(PROD_ENGINE)" -json $(BENCH_OUT)/delivery-prod.json
	$(GO) run ./bench/runwebhooks -runs 1000 -rate 100 -json $(BENCH_OUT)/runwebhooks.json
	$(GO) run ./bench/match -runs 10000000 -projects 100 -hours 6 -reps 30 -rules 1000 -json $(BENCH_OUT)/match.json
	$(GO) run ./bench/match -runs 30000000 -projects 100 -hours 18 -reps 30 -scan-reps 0 -rules 0 -json $(BENCH_OUT)/match-30m.json
	$(GO) run ./bench/lookup -runs 3000000 -days 30 -reps 30 -json $(BENCH_OUT)/lookup.json
	$(GO) run ./bench/detect -runs 100 -over 150s -interval 5s -json $(BENCH_OUT)/detect.json
	$(GO) run ./bench/rules -rules 1000 -interval 1m -duration 4m -json $(BENCH_OUT)/rules.json
	$(GO) run ./bench/rules -rules 5000 -interval 1m -duration 4m -json $(BENCH_OUT)/rules-5000.json
	RUNHOOK_TEMPORAL_ADDRESS=$(PROD_TEMPORAL) $(GO) run ./bench/rules -rules 1000 -interval 1m -duration 4m -engine "$(PROD_ENGINE)" -json $(BENCH_OUT)/rules-prod.json
	$(GO) run ./bench/scaling -posts 500 -runs-per-post 10 -concurrency 64 -workers 2 -rounds 2 -json $(BENCH_OUT)/scaling.json
	$(GO) run ./bench/soak -duration 5m -rate 10 -kill-every 45s -json $(BENCH_OUT)/soak.json
	$(GO) run ./bench/report -o $(BENCH_OUT)/table.md $(BENCH_OUT)

# The same pipeline on small loads (a few minutes), to check it end to end;
# its figures are not the benchmark.
BENCH_QUICK_OUT := $(DATA)/bench-quick
bench-quick: services services-prod
	rm -rf $(BENCH_QUICK_OUT) && mkdir -p $(BENCH_QUICK_OUT)
	$(GO) run ./bench/ingest -runs 20000 -json $(BENCH_QUICK_OUT)/ingest.json
	$(GO) run ./bench/api -runs 5000 -batch 100 -concurrency 8 -json $(BENCH_QUICK_OUT)/api.json
	$(GO) run ./bench/floor -workflows 50 -activities 200 -local 500 -json $(BENCH_QUICK_OUT)/floor.json
	$(GO) run ./bench/delivery -posts 100 -runs-per-post 10 -concurrency 16 -json $(BENCH_QUICK_OUT)/delivery.json
	RUNHOOK_TEMPORAL_ADDRESS=$(PROD_TEMPORAL) $(GO) run ./bench/delivery -posts 100 -runs-per-post 10 -concurrency 16 -engine "$(PROD_ENGINE)" -json $(BENCH_QUICK_OUT)/delivery-prod.json
	$(GO) run ./bench/runwebhooks -runs 100 -rate 50 -floor-workflows 50 -json $(BENCH_QUICK_OUT)/runwebhooks.json
	$(GO) run ./bench/match -runs 200000 -projects 10 -hours 1 -reps 5 -scan-reps 1 -rules 50 -json $(BENCH_QUICK_OUT)/match.json
	$(GO) run ./bench/lookup -runs 100000 -days 5 -reps 5 -json $(BENCH_QUICK_OUT)/lookup.json
	$(GO) run ./bench/detect -runs 10 -over 20s -interval 5s -json $(BENCH_QUICK_OUT)/detect.json
	$(GO) run ./bench/rules -rules 20 -projects 5 -active 2 -interval 10s -duration 40s -history 20 -floor-workflows 50 -json $(BENCH_QUICK_OUT)/rules.json
	RUNHOOK_TEMPORAL_ADDRESS=$(PROD_TEMPORAL) $(GO) run ./bench/rules -rules 20 -projects 5 -active 2 -interval 10s -duration 40s -history 20 -floor-workflows 50 -engine "$(PROD_ENGINE)" -json $(BENCH_QUICK_OUT)/rules-prod.json
	$(GO) run ./bench/scaling -posts 60 -runs-per-post 10 -concurrency 16 -workers 2 -rounds 2 -json $(BENCH_QUICK_OUT)/scaling.json
	$(GO) run ./bench/soak -duration 45s -rate 10 -kill-every 15s -json $(BENCH_QUICK_OUT)/soak.json
	$(GO) run ./bench/report -o $(BENCH_QUICK_OUT)/table.md $(BENCH_QUICK_OUT)

clean:
	rm -rf bin
