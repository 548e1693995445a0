#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs, builds, runs every project
# (unit, integration as root, e2e), after building the test images. Extra arguments go to vitest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
# The real OCI images the image tests push (cached: a no-op when built; needs root to build).
if ! ./scripts/test-images.sh && [[ $(id -u) -eq 0 || "${CI:-}" == true ]]; then exit 1; fi
exec npx vitest run "$@"
