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
#   scripts/services.sh chromium  install headless Chromium only (the console's browser test)
#
# Besides the dev server, the production shape of Temporal: the Temporal server
# (built from source) with several history shards on a PostgreSQL cluster of
# its own (Debian package), on ports of its own so both run side by side.
#
#   scripts/services.sh up-prod     install, start PostgreSQL and that server, set up the schema and namespace
#   scripts/services.sh down-prod   stop what up-prod started
#   scripts/services.sh status-prod say what of it runs
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
# The production-shape engine (up-prod): Temporal server and schema tool from
# the server module, PostgreSQL on a port of its own.
TEMPORAL_SERVER_VERSION="v1.29.1"
TEMPORAL_SERVER_DIR="$TOOLS/temporal-server-$TEMPORAL_SERVER_VERSION"
TEMPORAL_PROD_PORT=7333
TEMPORAL_PROD_SHARDS="${RUNHOOK_TEMPORAL_PROD_SHARDS:-4}"
PG_PORT="${RUNHOOK_PG_PORT:-5433}"
# A loopback-only cluster for tests and local runs; its one role owns the databases.
PG_USER=temporal
PG_PASSWORD=temporal

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

# The console's browser test drives Debian's chromium headless; it is a
# test tool, not a service, so it is installed here and never started.
install_chromium() {
  if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then return; fi
  log "installing chromium (Debian package, for the console's browser test)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
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

# --- the production-shape engine: PostgreSQL and the Temporal server ---------

pg_bin() { # the newest installed PostgreSQL's bin directory
  local d; d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

install_postgres() {
  if pg_bin >/dev/null; then return; fi
  log "installing postgresql (Debian package)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
  # The package may start a system-wide cluster on 5432; runhook runs its own.
  if command -v service >/dev/null; then as_root service postgresql stop >/dev/null 2>&1 || true; fi
  pg_bin >/dev/null || die "postgresql installed but no /usr/lib/postgresql/*/bin/initdb found"
}

install_temporal_server() {
  if [ -x "$TEMPORAL_SERVER_DIR/server" ] && [ -x "$TEMPORAL_SERVER_DIR/sql" ]; then return; fi
  command -v go >/dev/null || die "go is needed to build the Temporal server"
  log "building Temporal server $TEMPORAL_SERVER_VERSION and its schema tool into $TEMPORAL_SERVER_DIR (a few minutes, once)"
  mkdir -p "$TEMPORAL_SERVER_DIR"
  # Outside the module, as for the CLI; a directory of their own because the
  # binaries are called server and sql.
  (cd "$TOOLS" && GOBIN="$TEMPORAL_SERVER_DIR" go install "go.temporal.io/server/cmd/server@$TEMPORAL_SERVER_VERSION" &&
    GOBIN="$TEMPORAL_SERVER_DIR" go install "go.temporal.io/server/cmd/tools/sql@$TEMPORAL_SERVER_VERSION") ||
    die "building the Temporal server failed (see the go output above)"
}

# as_postgres CMD...: PostgreSQL refuses to run as root; the package's system user runs it.
as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; else as_root runuser -u postgres -- "$@"; fi
}

postgres_ready() { "$(pg_bin)/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; }

# pg_dir prints where the cluster lives: $DATA/postgres, or, when a parent
# directory of the checkout is closed to the postgres user (a clone under
# /root), a directory of its own under /tmp named after $DATA. The choice is
# kept in $DATA/postgres.dir, so stop finds what start used.
pg_dir() {
  local dir="$DATA/postgres" kept="$DATA/postgres.dir"
  if [ -f "$kept" ]; then cat "$kept"; return; fi
  mkdir -p "$dir"
  as_root chown postgres: "$dir"
  if ! as_postgres test -x "$dir"; then
    dir="/tmp/runhook-postgres-$(printf '%s' "$DATA" | sha256sum | cut -c1-12)"
    mkdir -p "$dir"
    as_root chown postgres: "$dir"
    log "the postgres user cannot reach $DATA; its cluster lives in $dir"
  fi
  printf '%s\n' "$dir" >"$kept"
  printf '%s\n' "$dir"
}

start_postgres() {
  local dir pidf="$DATA/postgres.pid" bin; bin=$(pg_bin)
  if pid_alive "$pidf"; then log "postgres already running (pid $(cat "$pidf"))"; return; fi
  port_open "$PG_PORT" && die "port $PG_PORT is taken by something this script did not start"
  dir=$(pg_dir)
  as_postgres test -x "$dir" || die "the postgres user cannot reach $dir (a parent directory is closed to it)"
  if ! [ -f "$dir/data/PG_VERSION" ]; then
    log "creating a PostgreSQL cluster in $dir/data"
    printf '%s\n' "$PG_PASSWORD" >"$dir/pwfile"
    as_root chown postgres: "$dir/pwfile"
    as_postgres "$bin/initdb" -D "$dir/data" -U "$PG_USER" --pwfile="$dir/pwfile" \
      --auth-host=scram-sha-256 --auth-local=peer --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
      { tail -n 20 "$dir/initdb.log" >&2; die "initdb failed"; }
    rm -f "$dir/pwfile"
    # Loopback only, a port of its own, the socket inside the data dir, and
    # room for four Temporal services' connection pools.
    as_postgres sh -c "cat >>'$dir/data/postgresql.conf'" <<EOF_PG
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$dir/data'
max_connections = 200
EOF_PG
  fi
  log "starting postgres on 127.0.0.1:$PG_PORT (data in $dir/data)"
  as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t "$READY_TIMEOUT" start >/dev/null ||
    { tail -n 20 "$dir/server.log" >&2 || true; die "postgres did not start (log $dir/server.log)"; }
  head -n 1 "$dir/data/postmaster.pid" >"$pidf"
  wait_until "$READY_TIMEOUT" "postgres" postgres_ready || die "postgres does not answer on 127.0.0.1:$PG_PORT"
}

stop_postgres() {
  local pidf="$DATA/postgres.pid" bin
  pid_alive "$pidf" || { rm -f "$pidf"; return; }
  log "stopping postgres (pid $(cat "$pidf"))"
  if bin=$(pg_bin) && as_postgres "$bin/pg_ctl" -D "$(pg_dir)/data" -m fast -w stop >/dev/null; then
    rm -f "$pidf"
  else
    stop_pid postgres "$pidf"
  fi
}

sql_tool() { # sql_tool DATABASE ARGS...
  local db=$1; shift
  "$TEMPORAL_SERVER_DIR/sql" --plugin postgres12 --endpoint 127.0.0.1 --port "$PG_PORT" \
    --user "$PG_USER" --password "$PG_PASSWORD" --database "$db" "$@"
}

# setup_temporal_schema creates the two databases once and brings their
# schema up to the module's versioned files (update-schema applies only what
# is newer, so it runs on every start).
setup_temporal_schema() {
  local schema db done log="$DATA/temporal-prod/schema.log"
  done="$(pg_dir)/temporal-schema.created"
  schema="$(cd "$TOOLS" && go env GOMODCACHE)/go.temporal.io/server@$TEMPORAL_SERVER_VERSION/schema/postgresql/v12"
  [ -d "$schema/temporal/versioned" ] || die "no schema files in $schema (the go install should have put the module there)"
  mkdir -p "$DATA/temporal-prod"
  : >"$log"
  if ! [ -f "$done" ]; then
    log "creating the temporal and temporal_visibility databases"
    for db in temporal temporal_visibility; do
      sql_tool "$db" drop-database --force >>"$log" 2>&1 || true
      sql_tool "$db" create-database >>"$log" 2>&1 &&
        sql_tool "$db" setup-schema -v 0.0 >>"$log" 2>&1 ||
        { tail -n 20 "$log" >&2; die "creating database $db failed (log $log)"; }
    done
    touch "$done"
  fi
  sql_tool temporal update-schema -d "$schema/temporal/versioned" >>"$log" 2>&1 &&
    sql_tool temporal_visibility update-schema -d "$schema/visibility/versioned" >>"$log" 2>&1 ||
    { tail -n 20 "$log" >&2; die "updating the Temporal schema failed (log $log)"; }
  log "temporal schema up to date"
}

temporal_prod_ready() {
  "$TEMPORAL_BIN" operator cluster health --address "127.0.0.1:$TEMPORAL_PROD_PORT" 2>/dev/null | grep -q SERVING
}

# The frontend takes a new namespace from its cache some seconds after it is
# registered; counting workflows in it answers only once it does.
namespace_ready() {
  "$TEMPORAL_BIN" workflow count --address "127.0.0.1:$TEMPORAL_PROD_PORT" --namespace default
}

start_temporal_prod() {
  local dir="$DATA/temporal-prod" pidf="$DATA/temporal-prod.pid"
  if pid_alive "$pidf"; then log "temporal (postgres) already running (pid $(cat "$pidf"))"; return; fi
  port_open "$TEMPORAL_PROD_PORT" && die "port $TEMPORAL_PROD_PORT is taken by something this script did not start"
  mkdir -p "$dir/config"
  sed -e "s#@SHARDS@#$TEMPORAL_PROD_SHARDS#g" -e "s#@PG_PORT@#$PG_PORT#g" \
      -e "s#@PG_USER@#$PG_USER#g" -e "s#@PG_PASSWORD@#$PG_PASSWORD#g" \
      -e "s#@FRONTEND_PORT@#$TEMPORAL_PROD_PORT#g" \
      "$ROOT/scripts/temporal-postgres.yaml" >"$dir/config/prod.yaml"
  log "starting temporal server on 127.0.0.1:$TEMPORAL_PROD_PORT ($TEMPORAL_PROD_SHARDS history shards, PostgreSQL on $PG_PORT)"
  "$TEMPORAL_SERVER_DIR/server" --root "$dir" --config config --env prod --allow-no-auth start \
    >"$dir/server.log" 2>&1 &
  echo $! >"$pidf"
  wait_until "$READY_TIMEOUT" "temporal (postgres)" temporal_prod_ready || {
    tail -n 20 "$dir/server.log" >&2 || true
    die "temporal did not become ready on 127.0.0.1:$TEMPORAL_PROD_PORT within ${READY_TIMEOUT}s (log $dir/server.log)"
  }
  if ! "$TEMPORAL_BIN" operator namespace describe --address "127.0.0.1:$TEMPORAL_PROD_PORT" --namespace default >/dev/null 2>&1; then
    "$TEMPORAL_BIN" operator namespace create --address "127.0.0.1:$TEMPORAL_PROD_PORT" --namespace default --retention 72h >/dev/null ||
      die "creating namespace default failed"
  fi
  wait_until "$READY_TIMEOUT" "namespace default" namespace_ready || die "namespace default did not become usable"
}

status_prod() {
  for s in postgres temporal-prod; do
    if pid_alive "$DATA/$s.pid"; then echo "$s: running (pid $(cat "$DATA/$s.pid"))"; else echo "$s: not started by this script"; fi
  done
  pg_bin >/dev/null && postgres_ready && echo "postgres: answers on 127.0.0.1:$PG_PORT" || echo "postgres: not answering"
  [ -x "$TEMPORAL_BIN" ] && temporal_prod_ready && echo "temporal (postgres): answers on 127.0.0.1:$TEMPORAL_PROD_PORT" || echo "temporal (postgres): not answering"
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
  install) install_clickhouse; install_temporal; install_chromium ;;
  up) install_clickhouse; install_temporal; install_chromium; start_clickhouse; start_temporal ;;
  chromium) install_chromium ;;
  clickhouse) install_clickhouse; start_clickhouse ;;
  down) stop_pid temporal "$DATA/temporal.pid"; stop_pid clickhouse "$DATA/clickhouse.pid" ;;
  status) status ;;
  up-prod)
    install_postgres; install_temporal; install_temporal_server
    start_postgres; setup_temporal_schema; start_temporal_prod ;;
  down-prod) stop_pid temporal-prod "$DATA/temporal-prod.pid"; stop_postgres ;;
  status-prod) status_prod ;;
  *) echo "usage: $0 up|down|status|install|chromium|up-prod|down-prod|status-prod" >&2; exit 2 ;;
esac
