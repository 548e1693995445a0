#!/usr/bin/env bash
# The README's first command: installs what stack needs (scripts/deps.sh: Debian packages,
# npm dependencies, the build), then runs the hello-node example in the foreground: an HTTP
# API published on 127.0.0.1:8080 and a worker that calls it by name. Ctrl-C stops it;
# `bin/stack.cjs -f examples/hello-node/stack.yaml down` removes everything.
# Needs root (namespaces, cgroups, bridges): run it with sudo, or as root. Extra arguments go
# to `stack up` (e.g. -d).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
exec bin/stack.cjs -f examples/hello-node/stack.yaml up "$@"
