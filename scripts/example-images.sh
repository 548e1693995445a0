#!/usr/bin/env bash
# The images example (examples/images-dev: postgres, redis and a Node app) on a fresh machine,
# offline: installs what stack needs (scripts/deps.sh), builds the project's own test images
# (scripts/test-images.sh, cached), installs the app's npm dependencies, starts a registry
# (Debian's docker-registry) on 127.0.0.1:${REGISTRY_PORT:-5000} only, pushes the images there
# under Docker Hub's names (library/postgres:15, library/redis:7, library/node:18), then runs
# `stack up` with STACK_REGISTRY pointed at it. The registry stops when the script ends; the
# images stay in stack's store. Needs root. Extra arguments go to `stack up` (e.g. -d --wait).
# Afterwards: `STACK_REGISTRY=127.0.0.1:5000 bin/stack.cjs -f examples/images-dev/compose.yaml ps`;
# `bin/stack.cjs -p images-dev down -v` removes everything.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
./scripts/test-images.sh
if [[ ! -d examples/images-dev/app/node_modules ]]; then
  (cd examples/images-dev/app && npm ci --no-audit --no-fund --loglevel=error)
fi

port="${REGISTRY_PORT:-5000}"
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "example-images: 127.0.0.1:$port is in use; set REGISTRY_PORT to a free port" >&2
  exit 1
fi
dir="$(mktemp -d /tmp/stack-example-registry.XXXXXX)"
# Its own config (the package's default listens on every interface): 127.0.0.1 only, no auth.
cat >"$dir/config.yml" <<EOF
version: 0.1
log: { level: warn, accesslog: { disabled: true } }
storage: { filesystem: { rootdirectory: $dir/data } }
http: { addr: "127.0.0.1:$port", secret: $(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n') }
EOF
docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
registry=$!
trap 'kill "$registry" 2>/dev/null || true; wait "$registry" 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
  node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "http://127.0.0.1:$port/v2/" && break
  kill -0 "$registry" 2>/dev/null || { cat "$dir/registry.log" >&2; exit 1; }
  sleep 0.1
done

layout="${STACK_TEST_IMAGES:-/var/cache/stack/test-images}/oci"
for image in postgres:15 redis:7 node:18; do
  echo "example-images: pushing ${image%%:*} to 127.0.0.1:$port/library/$image"
  skopeo copy --quiet --insecure-policy --dest-tls-verify=false --format oci \
    "oci:$layout:${image%%:*}" "docker://127.0.0.1:$port/library/$image"
done

export STACK_REGISTRY="127.0.0.1:$port"
bin/stack.cjs -f examples/images-dev/compose.yaml up "$@"
