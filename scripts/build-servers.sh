#!/usr/bin/env bash
# Builds or installs the servers that `tally up` embeds, into .tools/bin:
#   tally-ferretdb  our FerretDB v1 launcher (deploy/ferretdb), built from source
#   nats-server     v2.15.2, installed with `go install`
#   nats            the official NATS CLI v0.5.0: the tests publish with it (a producer
#                   we did not write) and the benchmark measures raw ceilings with it
# and checks that redis-server is present (installing Debian's package when run as root).
# Idempotent: each step is skipped when its binary is newer than its sources, so a warm
# `npm run build` spends well under a second here.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/.tools/bin"
NATS_VERSION="v2.15.2"
NATSCLI_VERSION="v0.5.0"
mkdir -p "$BIN"

log() { printf 'build-servers: %s\n' "$*" >&2; }

need_go() {
  if ! command -v go >/dev/null 2>&1; then
    log "Go is required to build $1 (https://go.dev/dl/); install it and re-run npm run build"
    exit 1
  fi
}

# True when $1 is missing or older than any file under the given sources.
stale() {
  local target="$1"
  shift
  [[ ! -x "$target" ]] && return 0
  [[ -n "$(find "$@" -newer "$target" -print -quit)" ]]
}

build_ferretdb() {
  local src="$ROOT/deploy/ferretdb"
  local out="$BIN/tally-ferretdb"
  if ! stale "$out" "$src/main.go" "$src/go.mod" "$src/go.sum"; then
    return
  fi
  need_go tally-ferretdb
  log "building tally-ferretdb (the first build takes a few minutes)"
  (cd "$src" && go build -trimpath -o "$out.tmp" . && mv "$out.tmp" "$out")
}

install_nats() {
  local out="$BIN/nats-server"
  # A version check rather than mtimes: there is no local source to compare against.
  if [[ -x "$out" ]] && "$out" --version 2>/dev/null | grep -q "$NATS_VERSION"; then
    return
  fi
  need_go nats-server
  log "installing nats-server $NATS_VERSION"
  GOBIN="$BIN" GOFLAGS="-trimpath" go install "github.com/nats-io/nats-server/v2@$NATS_VERSION"
}

install_natscli() {
  local out="$BIN/nats"
  if [[ -x "$out" ]] && "$out" --version 2>/dev/null | grep -q "${NATSCLI_VERSION#v}"; then
    return
  fi
  need_go nats
  log "installing the nats CLI $NATSCLI_VERSION"
  GOBIN="$BIN" GOFLAGS="-trimpath" go install "github.com/nats-io/natscli/nats@$NATSCLI_VERSION"
}

check_redis() {
  if command -v redis-server >/dev/null 2>&1 || [[ -x /usr/bin/redis-server ]]; then
    return
  fi
  if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing redis-server with apt-get"
    apt-get update -qq && apt-get install -y -qq redis-server
    return
  fi
  log "redis-server not found: install it (e.g. apt-get install redis-server) or set REDIS_URL"
  exit 1
}

build_ferretdb
install_nats
install_natscli
check_redis
