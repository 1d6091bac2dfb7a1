#!/usr/bin/env bash
# Runs runhook's SQL on a current ClickHouse without a server: libchdb, the
# in-process build of ClickHouse, comes from the npm package
# @chdb/lib-linux-x64-gnu (the only channel that needs no GitHub access) and is
# kept under .tools/chdb. The Go side (chdb-go) dlopens it at run time, so
# normal builds need neither the library nor cgo.
#
#   scripts/chdb.sh install   fetch libchdb once (~170 MB download, ~560 MB unpacked)
#   scripts/chdb.sh env       print the export line the tagged test needs (eval-able)
#   scripts/chdb.sh test      install if needed, then run the chdb-tagged tests
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${RUNHOOK_TOOLS_DIR:-$ROOT/.tools}"
CHDB_DIR="$TOOLS/chdb"
# Pinned: the test proves the SQL against a known engine version, and a moving
# "latest" would change what a green run means.
CHDB_NPM_PACKAGE="@chdb/lib-linux-x64-gnu"
CHDB_NPM_VERSION="${RUNHOOK_CHDB_VERSION:-26.5.3}"
LIB="$CHDB_DIR/libchdb.so"
STAMP="$CHDB_DIR/VERSION"

log() { printf 'chdb: %s\n' "$*" >&2; }
die() { printf 'chdb: error: %s\n' "$*" >&2; exit 1; }

installed() { [ -f "$LIB" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$CHDB_NPM_VERSION" ]; }

install() {
  if installed; then return; fi
  [ "$(uname -s)" = Linux ] && [ "$(uname -m)" = x86_64 ] ||
    die "$CHDB_NPM_PACKAGE is built for Linux x86_64 (glibc) only; this is $(uname -s) $(uname -m)"
  command -v npm >/dev/null || die "npm is needed to fetch $CHDB_NPM_PACKAGE"
  command -v tar >/dev/null || die "tar is needed to unpack $CHDB_NPM_PACKAGE"
  mkdir -p "$TOOLS"
  # Unpacked beside the final place and renamed in one step, so an interrupted
  # download never leaves a directory that looks installed.
  local tmp
  tmp="$(mktemp -d "$TOOLS/chdb.tmp.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  log "fetching $CHDB_NPM_PACKAGE@$CHDB_NPM_VERSION from the npm registry into $CHDB_DIR (~170 MB, once)"
  # npm pack, not npm install: it only downloads and checks the tarball's
  # integrity, without a package.json, node_modules or install scripts.
  (cd "$tmp" && npm pack --silent --pack-destination "$tmp" "$CHDB_NPM_PACKAGE@$CHDB_NPM_VERSION" >/dev/null) ||
    die "npm pack $CHDB_NPM_PACKAGE@$CHDB_NPM_VERSION failed (see npm's output above)"
  local tgz
  tgz="$(ls "$tmp"/*.tgz 2>/dev/null | head -n 1)"
  [ -n "$tgz" ] || die "npm pack produced no tarball"
  # Only the C library: the package's Node addon is not used.
  mkdir -p "$tmp/out"
  tar -xzf "$tgz" -C "$tmp/out" --strip-components=1 package/libchdb.so ||
    die "$tgz has no package/libchdb.so"
  rm -f "$tgz"
  echo "$CHDB_NPM_VERSION" >"$tmp/out/VERSION"
  rm -rf "$CHDB_DIR"
  mv "$tmp/out" "$CHDB_DIR"
  rm -rf "$tmp"
  trap - EXIT
  log "installed $LIB"
}

env_lines() {
  # chdb-go dlopens the file named here; nothing is linked at build time.
  printf 'export CHDB_LIB_PATH=%q\n' "$LIB"
}

run_test() {
  install
  export CHDB_LIB_PATH="$LIB"
  cd "$ROOT"
  go test -tags chdb -run Chdb ./internal/clickhouse/ -count=1 -v "$@"
}

case "${1:-}" in
  install) install ;;
  env) install; env_lines ;;
  test) shift; run_test "$@" ;;
  *) echo "usage: $0 install|env|test [go test flags]" >&2; exit 2 ;;
esac
