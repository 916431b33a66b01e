#!/usr/bin/env bash
# Installs what `make test` needs beyond Go modules. Idempotent; safe to run on every
# test. Each block checks before it installs, so a prepared machine pays nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

# PostgreSQL server binaries: the store tests start a private throwaway server from
# them (internal/store/pgtest). Debian/Ubuntu install them under
# /usr/lib/postgresql/<version>/bin; the tests look there and on PATH. Skipped when
# SYNCD_TEST_POSTGRES_DSN points the tests at an existing server.
have_postgres() {
	command -v initdb >/dev/null 2>&1 && return 0
	compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
}
if [ -z "${SYNCD_TEST_POSTGRES_DSN:-}" ] && ! have_postgres; then
	echo "test-deps: installing PostgreSQL server binaries" >&2
	if [ "$(id -u)" -ne 0 ]; then
		echo "test-deps: PostgreSQL is missing and installing it needs root (apt-get install postgresql)" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y --no-install-recommends postgresql
	have_postgres || { echo "test-deps: postgresql installed but no initdb found" >&2; exit 1; }
fi

# node and the npm packages of the jsforce interop test (interop/jsforce_test.go),
# locked in interop/jsforce/package-lock.json. npm ci runs only when node_modules is
# missing or was installed from another lock file.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "test-deps: installing node and npm" >&2
	if [ "$(id -u)" -ne 0 ]; then
		echo "test-deps: node is missing and installing it needs root (apt-get install nodejs npm)" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y --no-install-recommends nodejs npm
fi
jsforce_dir=interop/jsforce
lock_sum=$(sha256sum "$jsforce_dir/package-lock.json" | cut -d' ' -f1)
stamp="$jsforce_dir/node_modules/.syncd-lock-sha256"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
	echo "test-deps: installing the npm packages of $jsforce_dir" >&2
	(cd "$jsforce_dir" && npm ci --no-audit --no-fund --loglevel=error)
	echo "$lock_sum" >"$stamp"
fi
