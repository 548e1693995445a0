#!/usr/bin/env bash
# Builds the real OCI images the tests, the example and the bench push into their test registry,
# offline (Debian's mirror only), into one OCI image layout under
# ${STACK_TEST_IMAGES:-/var/cache/stack/test-images}/oci, tagged:
#   debian    bookworm minbase (mmdebstrap), one layer
#   postgres  debian's layer + a layer adding postgresql-15 and an entrypoint of our own
#             (scripts/test-images/postgres-entrypoint.sh) that honours POSTGRES_* and PGDATA
#   redis     debian's layer + a layer adding redis-server
#   node      debian's layer + a layer adding Debian's nodejs (18); Cmd node, WorkingDir /app
#   busybox   busybox-static and its applet links, no Debian base
#   multi     an image index: linux/amd64 → busybox, linux/s390x → a small unrunnable image
# The cache is keyed by a hash of this script and its helper files: when it matches, the run
# prints one `cached` line per image and does nothing else. Needs root (mmdebstrap --mode=root,
# umoci keeps ownership), mmdebstrap, umoci, rsync and node; scripts/deps.sh installs them.
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${STACK_TEST_IMAGES:-/var/cache/stack/test-images}"
layout="$cache/oci"
images=(debian postgres redis node busybox multi)
key="$(cat scripts/test-images.sh scripts/test-images/* | sha256sum | cut -c1-32) $(uname -m)"

# Prints the summary written by the build, with `cached` or `built`.
report() {
  while read -r name rest; do echo "test-images: $name $1 ($rest)"; done <"$cache/summary"
}

if [[ -f "$cache/key" && "$(cat "$cache/key")" == "$key" ]]; then
  report cached
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "test-images: building the test images needs root (mmdebstrap --mode=root); run: sudo $0" >&2
  exit 1
fi
for cmd in mmdebstrap umoci rsync node; do
  command -v "$cmd" >/dev/null || { echo "test-images: $cmd is missing; run scripts/deps.sh" >&2; exit 1; }
done

mkdir -p "$cache"
# One build at a time; a second run waits and then finds the cache built.
exec 9>"$cache/.lock"
flock 9
if [[ -f "$cache/key" && "$(cat "$cache/key")" == "$key" ]]; then
  report cached
  exit 0
fi

start=$SECONDS
work="$(mktemp -d "$cache/build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
L="$work/oci"

# The Debian mirror this machine's apt uses (deb822 or one-line sources), for bookworm.
mirror() {
  local uri
  uri="$(awk '/^URIs:/ {u=$2} /^Suites:/ && / bookworm( |$)/ && u {print u; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)"
  [[ -n "$uri" ]] || uri="$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)"
  echo "${uri:-http://deb.debian.org/debian}"
}
MIRROR="$(mirror)"

# mmdebstrap of bookworm minbase plus packages into a directory. mmdebstrap's shims
# (policy-rc.d, start-stop-daemon) keep postinst scripts from starting services.
# --skip=output/dev only acts on tarball outputs (mmdebstrap 1.3.5): for a directory we empty
# /dev ourselves (a layer has no device nodes; the runtime mounts /dev).
debootstrap_root() {
  local dir=$1
  shift
  mmdebstrap --variant=minbase --mode=root --skip=output/dev --quiet "$@" bookworm "$dir" "$MIRROR"
  find "$dir/dev" -mindepth 1 -delete
}

PATH_ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# The four Debian roots at once (mostly downloads). Postgres as the official image installs it:
# no cluster made by the package (the entrypoint runs initdb), /run/postgresql for its socket.
debootstrap_root "$work/root-debian" >"$work/debian.log" 2>&1 &
p1=$!
debootstrap_root "$work/root-postgres" --include=postgresql-15 \
  --essential-hook='mkdir -p "$1/etc/postgresql-common/createcluster.d" && echo "create_main_cluster = false" >"$1/etc/postgresql-common/createcluster.d/stack-test.conf"' \
  --customize-hook='mkdir -p "$1/var/lib/postgresql/data" && chroot "$1" chown postgres:postgres /var/lib/postgresql/data && chmod 700 "$1/var/lib/postgresql/data"' \
  --customize-hook='install -m 0755 scripts/test-images/postgres-entrypoint.sh "$1/usr/local/bin/docker-entrypoint.sh"' \
  >"$work/postgres.log" 2>&1 &
p2=$!
debootstrap_root "$work/root-redis" --include=redis-server \
  --customize-hook='mkdir -p "$1/data" && chroot "$1" chown redis:redis /data' \
  >"$work/redis.log" 2>&1 &
p3=$!
debootstrap_root "$work/root-node" --include=nodejs --customize-hook='mkdir -p "$1/app"' >"$work/node.log" 2>&1 &
p4=$!
for job in "$p1:debian" "$p2:postgres" "$p3:redis" "$p4:node"; do
  if ! wait "${job%%:*}"; then
    echo "test-images: mmdebstrap of ${job#*:} failed:" >&2
    tail -n 30 "$work/${job#*:}.log" >&2
    exit 1
  fi
done
debootstrapped=$((SECONDS - start))
# mmdebstrap empties /run when it finishes; postgres's socket folder is made here.
chroot "$work/root-postgres" install -d -o postgres -g postgres -m 3777 /run/postgresql

umoci init --layout "$L"

# debian: one layer, the whole root.
umoci new --image "$L:debian"
umoci unpack --image "$L:debian" "$work/b-debian" >/dev/null
rsync -aHAX --delete "$work/root-debian/" "$work/b-debian/rootfs/"
umoci repack --image "$L:debian" "$work/b-debian"
umoci config --no-history --image "$L:debian" --config.env "$PATH_ENV" --config.cmd bash

# An image over debian's layer: the second layer is the diff from debian's root to `root`.
# rsync without -t and with --checksum leaves files of the same content untouched (umoci's
# diff compares mtimes too), so the layer holds what the packages changed, not the whole root.
over_debian() {
  local tag=$1 root=$2
  umoci unpack --image "$L:debian" "$work/b-$tag" >/dev/null
  rsync -rlpgoDHAX --checksum --delete "$root/" "$work/b-$tag/rootfs/"
  umoci repack --image "$L:$tag" "$work/b-$tag"
  rm -rf "$work/b-$tag"
}

over_debian postgres "$work/root-postgres"
umoci config --no-history --image "$L:postgres" --clear=config.cmd \
  --config.env "PATH=/usr/local/sbin:/usr/local/bin:/usr/lib/postgresql/15/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --config.env PGDATA=/var/lib/postgresql/data \
  --config.entrypoint /usr/local/bin/docker-entrypoint.sh --config.cmd postgres \
  --config.exposedports 5432/tcp --config.volume /var/lib/postgresql/data --config.stopsignal SIGINT
# umoci has no Healthcheck flag: set it in the config and re-digest (durations in ns).
node scripts/test-images/oci-edit.mjs healthcheck "$L" postgres \
  '{"Test":["CMD-SHELL","pg_isready -q -h 127.0.0.1 -p 5432"],"Interval":1000000000,"Timeout":5000000000,"Retries":60}'

over_debian redis "$work/root-redis"
umoci config --no-history --image "$L:redis" --clear=config.cmd --config.env "$PATH_ENV" \
  --config.cmd redis-server --config.cmd --protected-mode --config.cmd no \
  --config.exposedports 6379/tcp --config.volume /data --config.workingdir /data --config.user redis
node scripts/test-images/oci-edit.mjs healthcheck "$L" redis \
  '{"Test":["CMD","redis-cli","ping"],"Interval":1000000000,"Timeout":5000000000,"Retries":60}'

over_debian node "$work/root-node"
umoci config --no-history --image "$L:node" --clear=config.cmd --config.env "$PATH_ENV" \
  --config.cmd node --config.workingdir /app

# busybox: the static binary of Debian's busybox-static and its applet links.
bb="$work/root-busybox"
mkdir -p "$bb"/{bin,sbin,usr/bin,usr/sbin,etc,dev,proc,sys,root,var,run}
install -d -m 1777 "$bb/tmp"
install -m 0755 "$(command -v busybox)" "$bb/bin/busybox"
"$bb/bin/busybox" --list-full | while read -r applet; do
  [[ -e "$bb/$applet" ]] || ln -s /bin/busybox "$bb/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$bb/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$bb/etc/group"
umoci new --image "$L:busybox"
umoci unpack --image "$L:busybox" "$work/b-busybox" >/dev/null
rsync -aHAX --delete "$bb/" "$work/b-busybox/rootfs/"
umoci repack --image "$L:busybox" "$work/b-busybox"
umoci config --no-history --image "$L:busybox" --config.env "$PATH_ENV" --config.cmd sh

# multi: busybox for this host's platform and a small linux/s390x image (never run) beside it.
umoci new --image "$L:s390x"
umoci unpack --image "$L:s390x" "$work/b-s390x" >/dev/null
echo "stack test image: the linux/s390x entry of the multi index" >"$work/b-s390x/rootfs/README"
umoci repack --image "$L:s390x" "$work/b-s390x"
umoci config --no-history --image "$L:s390x" --os linux --architecture s390x --config.cmd /README
umoci gc --layout "$L"
node scripts/test-images/oci-edit.mjs index "$L" multi busybox s390x

# Sizes for the summary: compressed layers (as pushed) and the unpacked root.
size() { du -sh --apparent-size "$1" | cut -f1; }
{
  for tag in debian postgres redis node busybox; do
    n=$(node -e '
      const fs = require("fs"), p = require("path"), [L, tag] = process.argv.slice(1);
      const blob = (d) => JSON.parse(fs.readFileSync(p.join(L, "blobs", ...d.split(":"))));
      const e = JSON.parse(fs.readFileSync(p.join(L, "index.json"))).manifests.find((m) => m.annotations["org.opencontainers.image.ref.name"] === tag);
      const m = blob(e.digest);
      const mb = (n) => (n / 1048576).toFixed(1) + " MB";
      console.log(`${m.layers.length} layers: ${m.layers.map((l) => mb(l.size)).join(" + ")} gzip`);
    ' "$L" "$tag")
    root="$work/root-$tag"
    echo "$tag $n, root $(size "$root")"
  done
  echo "multi index: linux/$(dpkg --print-architecture) busybox, linux/s390x"
} >"$work/summary"

# Swap the new layout in; the key is written last, so a half-made cache is never taken as built.
rm -f "$cache/key"
rm -rf "$cache/oci.old"
[[ -d "$layout" ]] && mv "$layout" "$cache/oci.old"
mv "$L" "$layout"
mv "$work/summary" "$cache/summary"
rm -rf "$cache/oci.old"
echo "$key" >"$cache/key"
rm -rf "$work"
report built
echo "test-images: built in $((SECONDS - start)) s (mmdebstrap ${debootstrapped} s), $(du -sh "$layout" | cut -f1) in $layout"
