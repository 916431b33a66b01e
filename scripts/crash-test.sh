#!/bin/sh
# crash-test runs the crash soak's long form: the built syncd against sfsim, killed
# with SIGKILL at seeded random moments, on SQLite and on PostgreSQL, across days of
# joiners, movers and leavers (e2e/crash_test.go). KILLS is per store backend.
set -eu
KILLS=${1:-200}
PEOPLE=${2:-5000}
export SYNCD_CRASH_KILLS="$KILLS" SYNCD_CRASH_PEOPLE="$PEOPLE"
exec go test -count=1 -timeout 4h -run '^TestCrashSoak$' -v ./e2e
