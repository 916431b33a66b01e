#!/usr/bin/env bash
# make demo: syncd against a simulated org, from a fresh clone with only Go installed.
#
# It builds syncd and sfsim, starts sfsim on a free loopback port with a demo org
# (testdata/seed.json: five users already there, one to adopt by email, an admin no
# export names, a Salesforce license of 320 seats), then runs four cycles from
# testdata/people.csv, an HR export of 304 rows of which 5 are invalid:
#   1. syncd plan, then syncd apply --once: the first sync;
#   2. syncd apply --once again: nothing to do;
#   3. a truncated export (the first 200 rows, as a half-written file would be): the
#      shrink guardrail holds every deactivation for a person to approve;
#   4. syncd explain for one person held in 3.
# Everything it starts is stopped on exit; its files are in DEMO_DIR (default: a new
# temporary directory, removed on exit).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
testdata="$root/demo/testdata"

keep_dir=${DEMO_DIR:+yes}
dir=${DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/syncd-demo.XXXXXX")}
mkdir -p "$dir/bin"
sim_pid=
cleanup() {
	if [ -n "$sim_pid" ]; then
		kill "$sim_pid" 2>/dev/null || true
		wait "$sim_pid" 2>/dev/null || true
	fi
	[ -n "$keep_dir" ] || rm -rf "$dir"
}
trap cleanup EXIT

step() { printf '\n==> %s\n' "$*"; }
# run prints a command as a reader would type it, runs it in the demo directory and
# tolerates the exit codes syncd uses to report (2: changes pending, 3: held or
# failed actions), echoing the code so the reader sees it.
run() {
	printf '$ %s\n' "$*"
	local code=0
	(cd "$dir" && "$@") || code=$?
	case $code in
	0) ;;
	2 | 3) printf '(exit %d)\n' "$code" ;;
	*) printf 'demo: %s failed with exit %d\n' "$*" "$code" >&2; exit "$code" ;;
	esac
}
# shorten keeps a plan readable: the summary, the first few creates, every other
# action, and the rejected records.
shorten() {
	awk '/^create / { n++; if (n > 5) { more++; next } }
	     !/^create / && more { printf "...     (%d more creates)\n", more; more = 0 }
	     { print }'
}

step "Building syncd and sfsim (static, no cgo)"
"$root/scripts/build-static.sh" "$dir/bin" ./cmd/syncd ./cmd/sfsim
export PATH="$dir/bin:$PATH"

step "Starting sfsim, a simulated Salesforce org (demo/testdata/seed.json)"
"$dir/bin/sfsim" --addr 127.0.0.1:0 --seed "$testdata/seed.json" >"$dir/sfsim.url" 2>"$dir/sfsim.log" &
sim_pid=$!
url=
for _ in $(seq 100); do
	url=$(head -n1 "$dir/sfsim.url")
	[ -n "$url" ] && break
	kill -0 "$sim_pid" 2>/dev/null || { cat "$dir/sfsim.log" >&2; exit 1; }
	sleep 0.1
done
[ -n "$url" ] || { echo "demo: sfsim printed no URL" >&2; exit 1; }
echo "sfsim listens on $url: the integration user and 7 more, among them an admin no export names; 320 Salesforce seats"

step "Writing the demo configuration ($dir/syncd.yaml)"
cp "$testdata/people.csv" "$dir/people.csv"
printf 'sfsim-client-secret' >"$dir/client-secret"
cat >"$dir/syncd.yaml" <<YAML
salesforce:
  login_url: $url   # plain http is accepted on loopback only
  auth:
    method: client_credentials
    client_id: sfsim-client-id
    client_secret_file: client-secret
source:
  type: file
  path: people.csv
  format: csv
  columns: { id: employeeId }
mapping:
  fields:
    Title: { from: "{{ .Title }}" }
    Department: { from: "{{ .Department }}" }
  profile:
    rules:
      - when: { department: Sales }
        profile: Sales User
    default: Standard User
store: { driver: sqlite, dsn: "file:syncd.db" }
log: { format: console, level: warn }
YAML
cat "$dir/syncd.yaml"
run syncd check-config

step "Cycle 1: the plan for an export of $(($(wc -l <"$dir/people.csv") - 1)) rows, then applying it"
run syncd plan | shorten
run syncd apply --once

step "Cycle 2: the same export again, so there is nothing to do"
run syncd apply --once

step "Cycle 3: a truncated export (its first 200 rows), as a half-written file would be"
head -n 201 "$testdata/people.csv" >"$dir/people.csv.new"
mv "$dir/people.csv.new" "$dir/people.csv"
run syncd apply --once
run syncd runs

step "Why was one person's user touched? syncd explain"
run syncd explain E0250

step "Done: sfsim stops now; nothing was left running"
