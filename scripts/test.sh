#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs, builds, runs every project
# (unit, integration as root, e2e). Extra arguments go to vitest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
exec npx vitest run "$@"
