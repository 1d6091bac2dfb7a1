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

.PHONY: all build services services-down services-status migrate dev dev-down worker-start worker-stop \
	test test-go test-chdb lint bench clean

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
