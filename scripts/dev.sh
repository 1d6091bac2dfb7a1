#!/usr/bin/env bash
# The demo stack on top of scripts/services.sh: one worker, a local webhook
# inbox, the example rules, the example runs and a demo traffic generator.
#
#   scripts/dev.sh up      start what is not running (services must be up, binaries built)
#   scripts/dev.sh down    stop what this script started, by the PIDs it recorded
#   scripts/dev.sh start-worker | stop-worker
#   scripts/dev.sh run-webhook   create a run through the API whose completion webhook goes to the inbox
#
# Secrets for the demo (the secrets key that seals webhook targets, the inbox's
# ?secret=) are made once into .data/dev.env, readable only by you; source it to
# run starter commands against the demo: set -a; . .data/dev.env; set +a
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=.data
ENV_FILE=$DATA/dev.env
STARTER=bin/starter

log() { echo "dev: $*"; }

ensure_env() {
	mkdir -p "$DATA"
	if [ ! -f "$ENV_FILE" ]; then
		(
			umask 077
			{
				echo "RUNHOOK_SECRETS_KEY=$(head -c 32 /dev/urandom | base64)"
				echo "RUNHOOK_DEMO_SECRET=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
				# The demo inbox listens on loopback, which the SSRF guard refuses by
				# default: open loopback alone, not every private range.
				echo "RUNHOOK_DELIVERY_ALLOW_CIDRS=127.0.0.0/8,::1/128"
			} >"$ENV_FILE"
		)
		log "made $ENV_FILE (secrets key and inbox secret for the demo)"
	fi
	if grep -q '^RUNHOOK_DELIVERY_ALLOW_PRIVATE=true$' "$ENV_FILE"; then
		# Files made before loopback alone was opened allowed every private range.
		sed -i 's|^RUNHOOK_DELIVERY_ALLOW_PRIVATE=true$|RUNHOOK_DELIVERY_ALLOW_CIDRS=127.0.0.0/8,::1/128|' "$ENV_FILE"
		log "$ENV_FILE: replaced delivery.allow_private by allow_cidrs for loopback only"
	fi
	if ! grep -q '^RUNHOOK_DEV_API_KEY=' "$ENV_FILE"; then
		# The API accepts keys by their SHA-256 only; the key itself stays in
		# this file for the SDKs (LANGSMITH_API_KEY).
		local key
		key="rh_$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
		{
			echo "RUNHOOK_DEV_API_KEY=$key"
			echo "RUNHOOK_API_KEY_HASHES=sha256:$(printf '%s' "$key" | sha256sum | cut -d' ' -f1)"
		} >>"$ENV_FILE"
		log "added an API key for bin/server to $ENV_FILE"
	fi
	set -a
	# shellcheck disable=SC1090
	. "$ENV_FILE"
	set +a
}

running() { [ -f "$DATA/$1.pid" ] && kill -0 "$(cat "$DATA/$1.pid")" 2>/dev/null; }

# start NAME CMD...: run CMD in the background with its log in .data/NAME.log.
start() {
	local name=$1
	shift
	if running "$name"; then
		log "$name already running (pid $(cat "$DATA/$name.pid"))"
		return
	fi
	nohup "$@" >>"$DATA/$name.log" 2>&1 </dev/null &
	echo $! >"$DATA/$name.pid"
	sleep 0.5
	if ! running "$name"; then
		log "$name exited at once; its log ($DATA/$name.log) ends with:"
		tail -n 20 "$DATA/$name.log" >&2
		rm -f "$DATA/$name.pid"
		return 1
	fi
	log "$name started (pid $(cat "$DATA/$name.pid"), log $DATA/$name.log)"
}

stop() {
	local name=$1 pid
	[ -f "$DATA/$name.pid" ] || return 0
	pid=$(cat "$DATA/$name.pid")
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid"
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
		log "$name stopped (pid $pid)"
	fi
	rm -f "$DATA/$name.pid"
}

up() {
	ensure_env
	$STARTER migrate
	start worker bin/worker
	start server bin/server
	start inbox $STARTER inbox
	$STARTER rules apply -f examples/rules.yaml
	$STARTER ingest runs examples/runs.jsonl
	$STARTER ingest feedback examples/feedback.jsonl
	start demo $STARTER demo
	$STARTER ping
	cat <<EOF

runhook is up, with demo traffic flowing into two rules (examples/rules.yaml).
  console:        http://127.0.0.1:1984/console/ (rules, what each run became, pause/resume/trigger/redeliver/preview)
  webhook inbox:  http://127.0.0.1:9999/        (deliveries arrive within seconds; also: tail -f $DATA/inbox.log)
  Temporal UI:    http://127.0.0.1:8233          (schedules rule-<id>, ticks, feedback waits, deliveries)
  LangSmith API:  http://127.0.0.1:1984          (LANGSMITH_ENDPOINT; LANGSMITH_API_KEY is RUNHOOK_DEV_API_KEY in $ENV_FILE)
  ClickHouse:     clickhouse-client --host 127.0.0.1 --port 9000 --database runhook
  logs:           $DATA/worker.log, $DATA/server.log, $DATA/demo.log
  your shell:     set -a; . $ENV_FILE; set +a   then e.g. bin/starter rules list
  run webhook:    scripts/dev.sh run-webhook     (a run created through the API with a webhook to the inbox)
  stop all:       make dev-down
EOF
}

# run_webhook creates a finished run through the API with a run-completion
# webhook (LangGraph's parameter) pointing at the inbox, which shows its POST.
run_webhook() {
	ensure_env
	local id now
	id=$(cat /proc/sys/kernel/random/uuid)
	now=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
	curl -sS -X POST http://127.0.0.1:1984/runs -H "x-api-key: $RUNHOOK_DEV_API_KEY" -H 'content-type: application/json' \
		-d "{\"id\":\"$id\",\"name\":\"graph\",\"run_type\":\"chain\",\"session_name\":\"dev\",\"start_time\":\"$now\",\"end_time\":\"$now\",\"inputs\":{\"question\":\"hello\"},\"outputs\":{\"answer\":\"hi\"},\"webhook\":\"http://127.0.0.1:9999/run-done?secret=$RUNHOOK_DEMO_SECRET\"}"
	echo
	log "run $id created with a webhook; the inbox shows its POST within seconds"
}

down() {
	stop demo
	stop inbox
	stop server
	stop worker
}

case "${1:-}" in
up) up ;;
down) down ;;
start-worker) ensure_env && start worker bin/worker ;;
stop-worker) stop worker ;;
run-webhook) run_webhook ;;
*)
	echo "usage: $0 up|down|start-worker|stop-worker|run-webhook" >&2
	exit 2
	;;
esac
