#!/bin/sh
# bench-e2e measures syncd's cycles against sfsim as processes (e2e/bench_test.go,
# BenchmarkCycles) and writes the results, with the machine, the commit and the
# command, between the bench-e2e markers of BENCHMARKS.md.
set -eu
cd "$(dirname "$0")/.."
rows=$(mktemp)
section=$(mktemp)
trap 'rm -f "$rows" "$section"' EXIT
cmd="go test -count=1 -timeout 2h -run '^\$' -bench '^BenchmarkCycles\$' -benchtime 1x ./e2e"
SYNCD_BENCH_E2E_OUT="$rows" sh -c "$cmd"
{
	echo "<!-- bench-e2e:begin (written by scripts/bench-e2e.sh; do not edit by hand) -->"
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') at commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . || echo ' (with uncommitted changes)')"
	echo "on $(uname -sm), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(go version | cut -d' ' -f3),"
	echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg). Command: \`make bench-e2e\`, which runs"
	echo "\`$cmd\`."
	echo
	echo "| people | latency | cycle | API calls | minimum | calls/min | wall | latency floor | wall/floor | CPU (syncd) | peak RSS (syncd) | seed-doc calls | seed-doc floor |"
	echo "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	cat "$rows"
	echo "<!-- bench-e2e:end -->"
} > "$section"
if grep -q '<!-- bench-e2e:begin' BENCHMARKS.md 2>/dev/null; then
	awk -v f="$section" '
		/<!-- bench-e2e:begin/ { while ((getline line < f) > 0) print line; skip = 1; next }
		/<!-- bench-e2e:end/ { skip = 0; next }
		!skip { print }' BENCHMARKS.md > BENCHMARKS.md.tmp
	mv BENCHMARKS.md.tmp BENCHMARKS.md
else
	cat "$section" >> BENCHMARKS.md
fi
echo "bench-e2e: results written to BENCHMARKS.md"
