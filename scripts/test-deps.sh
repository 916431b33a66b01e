#!/usr/bin/env bash
# Installs what `make test` needs beyond Go modules. Idempotent; safe to run on every
# test. Each block checks before it installs, so a prepared machine pays nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
