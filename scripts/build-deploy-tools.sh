#!/usr/bin/env bash
# Builds the tools that validate deploy/ offline, into .tools/bin (test/deploy runs them):
#   helm                 v3.22.0, installed with `go install` from the Go module proxy
#   tally-deploy-check   deploy/check: decodes rendered manifests strictly into their
#                        Kubernetes API types, loads compose files with compose-go
# Not part of `npm run build` (so `tally up` stays quick): `npm test` and
# `npm run test:deploy` run it. Idempotent like scripts/build-servers.sh: helm is kept while
# its embedded module version is the pinned one, the checker while it is newer than its
# sources, so a warm run spends well under a second here.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/.tools/bin"
HELM_VERSION="v3.22.0"
mkdir -p "$BIN"

log() { printf 'build-deploy-tools: %s\n' "$*" >&2; }

if ! command -v go >/dev/null 2>&1; then
  log "Go is required to build helm and tally-deploy-check (https://go.dev/dl/)"
  exit 1
fi

install_helm() {
  local out="$BIN/helm"
  # The module version Go embedded at install time: no ldflags needed, no network.
  if [[ -x "$out" ]] && go version -m "$out" 2>/dev/null | grep -Eq "^[[:space:]]+mod[[:space:]]+helm.sh/helm/v3[[:space:]]+$HELM_VERSION([[:space:]]|$)"; then
    return
  fi
  log "installing helm $HELM_VERSION (the first build takes several minutes)"
  GOBIN="$BIN" GOFLAGS="-trimpath" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
}

build_checker() {
  local src="$ROOT/deploy/check"
  local out="$BIN/tally-deploy-check"
  if [[ -x "$out" ]] && [[ -z "$(find "$src" -newer "$out" \( -name '*.go' -o -name go.mod -o -name go.sum \) -print -quit)" ]]; then
    return
  fi
  log "building tally-deploy-check"
  (cd "$src" && go build -trimpath -o "$out.tmp" . && mv "$out.tmp" "$out")
}

install_helm
build_checker
