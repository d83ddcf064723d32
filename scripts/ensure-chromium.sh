#!/usr/bin/env bash
# Makes sure Debian's Chromium is present for the browser tests (test/e2e/*.browser.test.ts).
# Idempotent: does nothing when /usr/bin/chromium exists. Installs only when running as root
# (CI containers); otherwise it says what to run and leaves the browser test to fail with
# a clear message instead of failing `npm test` here.
set -euo pipefail

CHROMIUM="${TALLY_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-chromium: $CHROMIUM is missing; install it with: sudo apt-get install -y chromium" >&2
  exit 0
fi

echo "ensure-chromium: installing Debian's chromium" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
