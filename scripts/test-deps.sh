#!/usr/bin/env bash
# Installs what `make test` needs beyond Go modules. Idempotent; safe to run on every
# test. Each block checks before it installs, so a prepared machine pays nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_updated=
apt_install() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "test-deps: installing $* needs root (apt-get install $*)" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	if [ -z "$apt_updated" ]; then
		apt-get update -qq
		apt_updated=1
	fi
	apt-get install -y -qq --no-install-recommends "$@"
}

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
	apt_install postgresql
	have_postgres || { echo "test-deps: postgresql installed but no initdb found" >&2; exit 1; }
fi

# Prometheus: a process test (cmd/syncd, TestPrometheusScrapesTheDaemon) starts a real
# server from its binary and has it scrape the running daemon.
if ! command -v prometheus >/dev/null 2>&1; then
	echo "test-deps: installing Prometheus" >&2
	apt_install prometheus
fi

# npm_ci_locked installs the npm packages locked in $1/package-lock.json. npm ci runs
# only when node_modules is missing or was installed from another lock file.
npm_ci_locked() {
	local dir=$1
	shift
	local lock_sum stamp
	lock_sum=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
	stamp="$dir/node_modules/.syncd-lock-sha256"
	if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
		(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error "$@")
		echo "$lock_sum" >"$stamp"
	fi
}

# The jsforce interop test (interop/jsforce_test.go) runs node tests against sfsim with
# the npm packages locked in interop/jsforce/package-lock.json.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "test-deps: installing Node.js and npm" >&2
	apt_install nodejs npm
fi
npm_ci_locked interop/jsforce

# The Salesforce CLI interop test (interop/sfcli_test.go, `make interop`) needs the CLI
# from interop/sfcli/package-lock.json, which holds the CLI's own npm-shrinkwrap.json.
# Its install takes minutes, so only `test-deps.sh --sfcli` does it. Install scripts
# are skipped: the CLI's and its dependencies' only check for an old sfdx and print
# notices, and the tests need none of them.
if [ "${1:-}" = "--sfcli" ]; then
	npm_ci_locked interop/sfcli --ignore-scripts
fi
