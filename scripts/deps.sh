#!/usr/bin/env bash
# Installs what stack and its tests need on a fresh Debian machine: the Debian packages listed
# in scripts/apt-packages.txt (only those whose command is missing, or for a library written
# `- package`, those dpkg does not have installed), the npm dependencies, and
# the build (TypeScript to dist/, C helpers to native/build/). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
while read -r cmd pkg; do
  [[ -z "${cmd:-}" || "$cmd" == \#* ]] && continue
  if [[ "$cmd" == - ]]; then
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
    continue
  fi
  command -v "$cmd" >/dev/null 2>&1 || [[ -x "/usr/sbin/$cmd" || -x "/usr/lib/postgresql/15/bin/$cmd" ]] || missing+=("$pkg")
done < scripts/apt-packages.txt

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "stack: missing Debian packages: ${missing[*]} (run this script as root to install them)" >&2
    exit 1
  fi
  echo "stack: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d keeps package scripts from starting system services; tests start their own.
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi

# `npm install` with the committed lock, not `npm ci`: the registry reachable here lacks most of
# rollup's per-platform optional packages, so the lock cannot list them and `npm ci` refuses it
# as out of sync; `npm install` takes the locked versions and skips the missing optional ones.
if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm install --no-audit --no-fund --loglevel=error
fi
npm run --silent build
