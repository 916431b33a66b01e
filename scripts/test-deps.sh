#!/usr/bin/env bash
# Installs what `make test` needs beyond Go modules. Idempotent; safe to run on every
# test. Each block checks before it installs, so a prepared machine pays nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

# The jsforce interop test (interop/jsforce_test.go) runs node tests against sfsim with
# the npm packages locked in interop/jsforce/package-lock.json. npm ci runs only when
# node_modules is missing or was installed from another lock file.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq nodejs npm
fi
jsforce_dir=interop/jsforce
lock_sum=$(sha256sum "$jsforce_dir/package-lock.json" | cut -d' ' -f1)
stamp="$jsforce_dir/node_modules/.syncd-lock-sha256"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  (cd "$jsforce_dir" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_sum" >"$stamp"
fi
