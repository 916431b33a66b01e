#!/usr/bin/env bash
# Shows that the static syncd needs nothing but itself: it checks the build settings
# the binary records (no cgo, -trimpath) and its stamped version, then runs it as the
# unprivileged user nobody, from a directory nobody cannot write, with no HOME and an
# empty environment: `syncd version` and `syncd check-config --offline` on a
# configuration there must both succeed. Run by `make check-static` (and so by make test).
#
#   scripts/check-static.sh BINARY
set -euo pipefail
bin=${1:?usage: scripts/check-static.sh BINARY}

fail() { echo "check-static: $*" >&2; exit 1; }

settings=$(go version -m "$bin")
grep -qE '^\s+build\s+CGO_ENABLED=0$' <<<"$settings" || fail "$bin was built with cgo"
grep -qE '^\s+build\s+-trimpath=true$' <<<"$settings" || fail "$bin was built without -trimpath"

[ "$(id -u)" -eq 0 ] || fail "running as another user needs root (setpriv); run it as root, as CI does"

dir=$(mktemp -d "${TMPDIR:-/tmp}/syncd-static.XXXXXX")
trap 'rm -rf "$dir"' EXIT
install -m 0555 "$bin" "$dir/syncd"
printf 'not-a-real-secret' >"$dir/client-secret"
cat >"$dir/syncd.yaml" <<'YAML'
salesforce:
  login_url: https://test.salesforce.com
  auth:
    method: client_credentials
    client_id: ${SF_CLIENT_ID}
    client_secret_file: client-secret
source: { type: file, path: /data/people.csv, format: csv }
mapping:
  profile: { default: Standard User }
store: { driver: postgres, dsn: "${SYNCD_POSTGRES_DSN}" }
server: { listen: ":9090" }
YAML
chmod 0444 "$dir/client-secret" "$dir/syncd.yaml"
chmod 0555 "$dir"

as_nobody() {
	(cd "$dir" && env -i SF_CLIENT_ID=demo SYNCD_POSTGRES_DSN=postgres://syncd@db:5432/syncd \
		setpriv --reuid=nobody --regid=nogroup --clear-groups --no-new-privs -- "$@")
}
if as_nobody sh -c 'touch probe' 2>/dev/null; then
	fail "nobody can write $dir; the check would prove nothing"
fi
got=$(as_nobody ./syncd version) || fail "syncd version failed as nobody"
echo "as nobody: $got"
[[ $got == "syncd "* && $got != "syncd dev" ]] || fail "unexpected version line: $got"
as_nobody ./syncd check-config --offline --config syncd.yaml || fail "syncd check-config --offline failed as nobody"
echo "check-static: $bin is static and runs as nobody in a read-only directory"
