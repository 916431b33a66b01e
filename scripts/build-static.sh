#!/usr/bin/env sh
# Builds syncd (or the packages named after OUTDIR) as a static binary: no cgo, no
# build paths, the version stamped. The Dockerfile, `make build-static` and `make demo`
# all build through this script, so the container ships exactly what CI tests.
#
#   scripts/build-static.sh OUTDIR [PACKAGE ...]     (default package ./cmd/syncd)
#
# VERSION sets the stamped version; by default it is `git describe`, or "dev" outside
# a git checkout (a container build context has no .git).
set -eu
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/build-static.sh OUTDIR [PACKAGE ...]}
shift
[ $# -gt 0 ] || set -- ./cmd/syncd
version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
mkdir -p "$out"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$version" -o "$out/" "$@"
