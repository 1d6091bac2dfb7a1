#!/usr/bin/env bash
# Installs, starts and stops the real services runhook needs on a machine
# without Docker: ClickHouse (Debian package) and the Temporal dev server
# (Temporal CLI built from source). Everything listens on loopback only, keeps
# its data under .data/, and is stopped by the PID this script recorded.
#
#   scripts/services.sh up        install what is missing, start what is down, wait until ready
#   scripts/services.sh down      stop what this script started
#   scripts/services.sh status    say what runs
#   scripts/services.sh install   install only
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${RUNHOOK_DATA_DIR:-$ROOT/.data}"
TOOLS="${RUNHOOK_TOOLS_DIR:-$ROOT/.tools}"
TEMPORAL_VERSION="v1.5.1"
TEMPORAL_BIN="$TOOLS/bin/temporal"
# Ports may be moved (tests run a ClickHouse of their own beside the shared one).
CH_TCP_PORT="${RUNHOOK_CH_TCP_PORT:-9000}"
CH_HTTP_PORT="${RUNHOOK_CH_HTTP_PORT:-8123}"
CH_INTERSERVER_PORT="${RUNHOOK_CH_INTERSERVER_PORT:-9009}"
TEMPORAL_PORT=7233
TEMPORAL_UI_PORT=8233
READY_TIMEOUT="${RUNHOOK_READY_TIMEOUT:-120}"

log() { printf 'services: %s\n' "$*" >&2; }
die() { printf 'services: error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root to run: $* (install clickhouse-server and clickhouse-client by hand)"
  fi
}

install_clickhouse() {
  if command -v clickhouse-server >/dev/null && command -v clickhouse-client >/dev/null; then return; fi
  log "installing clickhouse-server and clickhouse-client (Debian packages)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q clickhouse-server clickhouse-client >/dev/null
  # The package may start a system-wide server on the same ports; runhook runs its own.
  if command -v service >/dev/null; then as_root service clickhouse-server stop >/dev/null 2>&1 || true; fi
}

install_temporal() {
  if [ -x "$TEMPORAL_BIN" ]; then return; fi
  command -v go >/dev/null || die "go is needed to build the Temporal CLI"
  log "building Temporal CLI $TEMPORAL_VERSION into $TOOLS/bin (takes a few minutes, once)"
  mkdir -p "$TOOLS/bin"
  # Built outside the module so runhook's go.mod does not constrain Temporal's dependencies.
  (cd "$TOOLS" && GOBIN="$TOOLS/bin" go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_VERSION") ||
    die "building the Temporal CLI failed (see the go output above)"
}

# pid_alive FILE: true when FILE names a running process.
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_until() { # wait_until SECONDS WHAT CMD...
  local limit=$1 what=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then return 1; fi
    sleep 0.5
  done
  log "$what ready"
}

clickhouse_config() {
  local dir="$DATA/clickhouse"
  mkdir -p "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/format_schemas" "$dir/log"
  sed -e "s#/var/lib/clickhouse/tmp/#$dir/tmp/#g" \
      -e "s#/var/lib/clickhouse/user_files/#$dir/user_files/#g" \
      -e "s#/var/lib/clickhouse/format_schemas/#$dir/format_schemas/#g" \
      -e "s#/var/lib/clickhouse/#$dir/data/#g" \
      -e "s#/var/log/clickhouse-server/#$dir/log/#g" \
      -e "s#<listen_host>::1</listen_host>##" \
      -e "s#<tcp_port>[0-9]*</tcp_port>#<tcp_port>$CH_TCP_PORT</tcp_port>#" \
      -e "s#<http_port>[0-9]*</http_port>#<http_port>$CH_HTTP_PORT</http_port>#" \
      -e "s#<interserver_http_port>[0-9]*</interserver_http_port>#<interserver_http_host>127.0.0.1</interserver_http_host><interserver_http_port>$CH_INTERSERVER_PORT</interserver_http_port>#" \
      /etc/clickhouse-server/config.xml >"$dir/config.xml"
  cp /etc/clickhouse-server/users.xml "$dir/users.xml"
  grep -q "<path>$dir/data/</path>" "$dir/config.xml" || die "could not rewrite the ClickHouse config paths"
}

clickhouse_ready() { clickhouse-client --host 127.0.0.1 --port "$CH_TCP_PORT" --query 'SELECT 1'; }

start_clickhouse() {
  local pidf="$DATA/clickhouse.pid"
  if pid_alive "$pidf"; then log "clickhouse already running (pid $(cat "$pidf"))"; return; fi
  if clickhouse_ready >/dev/null 2>&1; then
    log "a ClickHouse server not started by this script already answers on 127.0.0.1:$CH_TCP_PORT; using it"
    return
  fi
  port_open "$CH_TCP_PORT" && die "port $CH_TCP_PORT is taken by something that is not ClickHouse"
  clickhouse_config
  log "starting clickhouse on 127.0.0.1:$CH_TCP_PORT (data in $DATA/clickhouse)"
  (cd "$DATA/clickhouse" && exec clickhouse-server --config-file="$DATA/clickhouse/config.xml" \
    >"$DATA/clickhouse/log/stdout.log" 2>&1) &
  echo $! >"$pidf"
  wait_until "$READY_TIMEOUT" "clickhouse" clickhouse_ready || {
    tail -n 20 "$DATA/clickhouse/log/clickhouse-server.err.log" >&2 2>/dev/null || true
    die "clickhouse did not answer on 127.0.0.1:$CH_TCP_PORT within ${READY_TIMEOUT}s (logs in $DATA/clickhouse/log)"
  }
}

temporal_ready() {
  "$TEMPORAL_BIN" operator cluster health --address "127.0.0.1:$TEMPORAL_PORT" 2>/dev/null | grep -q SERVING &&
    curl -fsS -o /dev/null "http://127.0.0.1:$TEMPORAL_UI_PORT/"
}

start_temporal() {
  local pidf="$DATA/temporal.pid"
  if pid_alive "$pidf"; then log "temporal already running (pid $(cat "$pidf"))"; return; fi
  if temporal_ready; then
    log "a Temporal server not started by this script already answers on 127.0.0.1:$TEMPORAL_PORT; using it"
    return
  fi
  port_open "$TEMPORAL_PORT" && die "port $TEMPORAL_PORT is taken by something that is not Temporal"
  mkdir -p "$DATA/temporal"
  log "starting temporal dev server on 127.0.0.1:$TEMPORAL_PORT (UI http://127.0.0.1:$TEMPORAL_UI_PORT)"
  # WAL and synchronous=normal: the file db otherwise fsyncs every history
  # write, and bounded no-op activity fan-out at ~70/s on this machine (about
  # 430/s with them; issue 12). One task-queue partition: with one or a few
  # workers, four partitions left pollers idle on empty partitions while tasks
  # waited on others (2-5x slower fan-out, multi-second tails).
  "$TEMPORAL_BIN" server start-dev --db-filename "$DATA/temporal/temporal.db" \
    --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT" --log-level warn \
    --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal \
    --dynamic-config-value matching.numTaskqueueReadPartitions=1 \
    --dynamic-config-value matching.numTaskqueueWritePartitions=1 \
    --dynamic-config-value worker.schedulerNamespaceStartWorkflowRPS=1000 \
    >"$DATA/temporal/server.log" 2>&1 &
  echo $! >"$pidf"
  wait_until "$READY_TIMEOUT" "temporal" temporal_ready || {
    tail -n 20 "$DATA/temporal/server.log" >&2 || true
    die "temporal did not become ready on 127.0.0.1:$TEMPORAL_PORT (UI $TEMPORAL_UI_PORT) within ${READY_TIMEOUT}s (log $DATA/temporal/server.log)"
  }
}

stop_pid() { # stop_pid NAME PIDFILE
  local name=$1 pidf=$2
  if ! [ -f "$pidf" ]; then return; fi
  local pid; pid=$(cat "$pidf")
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $name (pid $pid)"
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then log "$name did not stop in 30s; killing"; kill -9 "$pid" || true; fi
  fi
  rm -f "$pidf"
}

status() {
  for s in clickhouse temporal; do
    if pid_alive "$DATA/$s.pid"; then echo "$s: running (pid $(cat "$DATA/$s.pid"))"; else echo "$s: not started by this script"; fi
  done
  clickhouse_ready >/dev/null 2>&1 && echo "clickhouse: answers on 127.0.0.1:$CH_TCP_PORT" || echo "clickhouse: not answering"
  [ -x "$TEMPORAL_BIN" ] && temporal_ready && echo "temporal: answers on 127.0.0.1:$TEMPORAL_PORT, UI http://127.0.0.1:$TEMPORAL_UI_PORT" || echo "temporal: not answering"
}

mkdir -p "$DATA"
case "${1:-}" in
  install) install_clickhouse; install_temporal ;;
  up) install_clickhouse; install_temporal; start_clickhouse; start_temporal ;;
  clickhouse) install_clickhouse; start_clickhouse ;;
  down) stop_pid temporal "$DATA/temporal.pid"; stop_pid clickhouse "$DATA/clickhouse.pid" ;;
  status) status ;;
  *) echo "usage: $0 up|down|status|install" >&2; exit 2 ;;
esac
