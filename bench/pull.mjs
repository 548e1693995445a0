// Pull and image-service start (issue 10). A registry of its own on 127.0.0.1 (bench/_registry.mjs)
// holds the test images' postgres (2 gzip layers) and redis, pushed from the OCI layout that
// scripts/test-images.sh builds. The registry stays warm; every pull starts from a cold store.
// Run after `npm run build`, as root: node bench/pull.mjs [runs, default BENCH_ROUNDS or 5] [pull|start: one table only]
// (`npm run bench -- pull` runs it with the others' protocol: one @row line per row, bench/_row.mjs;
// the pull rows' target 1.5× is the lead's threshold for "far slower than the floor", issue 10 names none).
//
// Table 1, pull + unpack of postgres, each row the median of N runs (interleaved, `sync` before each):
//   floor       `skopeo copy docker://…/bench/postgres:15 dir:<fresh>` then `tar -xzf` of each
//               layer blob into one folder, in order, as a script would: timed together (the two
//               parts printed too). skopeo runs under a private empty blob-info cache (unshare +
//               tmpfs mount: a few ms) so it neither reuses nor leaves one.
//   pullImage() the library call (dist/image/pull.js) into a fresh ImageStore: no CLI start
//   stack pull  `bin/stack.cjs pull -q` (run as a command) of a one-service compose file, fresh STACK_ROOT
// MB/s counts the compressed bytes (the manifest's layer sizes). CPU s: user + system seconds of
// this process and the children it waited for (skopeo, tar and its gzip, the CLI; not the
// registry), a figure that other load on the machine disturbs less than wall time.
//
// Table 2, start of a service as the redis image vs the same program from the host
// (/usr/bin/redis-server, Debian's redis-server): `redis-server --save ''`, the image
// already pulled. `stack up -d` returns once the process is started (checked with ps after);
// `stack down -v` (the image's VOLUME /data makes an anonymous volume on each up). Median of N.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { median, ms } from './_stats.mjs';
import { emitRow } from './_row.mjs';
import { pushTestImage, skopeo, startRegistry, testImagesLayout } from './_registry.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin/stack.cjs');
const dist = (p) => join(root, 'dist', p);
if (!existsSync(dist('image/pull.js')) || !existsSync(dist('cli/main.js')) || !existsSync(join(root, 'native/build/launcher'))) {
  console.error('bench/pull.mjs: run `npm run build` first');
  process.exit(1);
}
if (process.getuid?.() !== 0) {
  console.error('bench/pull.mjs: needs root (layers keep their owners; namespaces, cgroups, overlayfs)');
  process.exit(1);
}
const layout = testImagesLayout();
if (!layout) {
  console.error(`bench/pull.mjs: the test images are not built in ${process.env.STACK_TEST_IMAGES || '/var/cache/stack/test-images'}: run scripts/test-images.sh (as root)`);
  process.exit(1);
}
for (const cmd of ['skopeo', 'docker-registry', 'redis-server', 'tar']) {
  if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) {
    console.error(`bench/pull.mjs: ${cmd} is missing: run scripts/deps.sh`);
    process.exit(1);
  }
}
const { pullImage } = await import(dist('image/pull.js'));
const { ImageStore } = await import(dist('image/store.js'));

const N = Math.max(1, Number(process.argv[2] ?? process.env.BENCH_ROUNDS ?? 5));
const only = process.argv[3];
const work = mkdtempSync(join(tmpdir(), 'stack-bench-pull-'));
const fresh = (what) => mkdtempSync(join(work, `${what}-`));
const elapsed = (t0) => performance.now() - t0;
const TICK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** CPU seconds used so far by this process and its waited-for children (their children too). */
function cpuSeconds() {
  const { user, system } = process.cpuUsage();
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 on: cutime is 16, cstime 17
  return (user + system) / 1e6 + (Number(f[13]) + Number(f[14])) / TICK;
}

/** Runs the CLI with `env`; resolves with its wall time in ms (exit 0 required). */
function stack(cwd, env, args) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    execFile(bin, [...args], { cwd, env, maxBuffer: 1 << 24 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`stack ${args.join(' ')}: ${error.message}\n${stderr}`));
      else resolve({ ms: elapsed(t0), stdout });
    });
  });
}

/** Runs `cmd args` to completion (exit 0 required). */
function sh(cmd, args) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 1 << 24 }, (error, _out, stderr) => (error ? reject(new Error(`${cmd} ${args.join(' ')}: ${error.message}\n${stderr}`)) : resolve()));
  });
}

/** Flushes dirty pages so one run's writeback does not land in the next one's time. */
const settle = () => sh('sync', []);

const reg = await startRegistry();
const pgRef = `${reg.host}/bench/postgres:15`;
const redisRef = `${reg.host}/bench/redis:7`;
try {
  await pushTestImage(layout, 'postgres', pgRef);
  await pushTestImage(layout, 'redis', redisRef);
  const manifest = await (await fetch(`${reg.url}/v2/bench/postgres/manifests/15`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })).json();
  const compressed = manifest.layers.reduce((s, l) => s + l.size, 0);
  const mb = compressed / 1e6;

  // ---- table 1: pull + unpack ----
  if (only !== 'start') {
    const floor = async () => {
      const dir = fresh('floor');
      const blobs = join(dir, 'dir');
      const rootfs = join(dir, 'rootfs');
      const t0 = performance.now();
      await skopeo(['copy', '--quiet', '--insecure-policy', '--src-tls-verify=false', `docker://${pgRef}`, `dir:${blobs}`]);
      const copied = elapsed(t0);
      const layers = JSON.parse(readFileSync(join(blobs, 'manifest.json'), 'utf8')).layers;
      await sh('mkdir', [rootfs]);
      for (const l of layers) await sh('tar', ['-xzf', join(blobs, l.digest.replace(/^sha256:/, '')), '-C', rootfs]);
      const total = elapsed(t0);
      return { total, parts: [copied, total - copied], dir };
    };
    const library = async () => {
      const dir = fresh('lib');
      const t0 = performance.now();
      const record = await pullImage(pgRef, { store: new ImageStore(join(dir, 'images')) });
      const total = elapsed(t0);
      if (record.layers.length !== manifest.layers.length) throw new Error('pullImage: wrong layer count');
      return { total, dir };
    };
    const projectDir = fresh('project');
    writeFileSync(join(projectDir, 'compose.yaml'), `name: bp${randomBytes(4).toString('hex')}\nservices:\n  db:\n    image: ${pgRef}\n`);
    const cli = async () => {
      const state = fresh('state');
      const { ms: total } = await stack(projectDir, { ...process.env, STACK_ROOT: state }, ['pull', '-q']);
      const layers = readdirSync(join(state, 'lib', 'image-store', 'layers')).filter((f) => !f.includes('.'));
      if (layers.length !== manifest.layers.length) throw new Error(`stack pull: ${layers.length} layers in the store`);
      return { total, dir: state };
    };
    const rows = { floor, 'pullImage()': library, 'stack pull': cli };
    const samples = Object.fromEntries(Object.keys(rows).map((k) => [k, []]));
    const cpu = Object.fromEntries(Object.keys(rows).map((k) => [k, []]));
    const parts = [[], []];
    for (const run of Object.values(rows)) rmSync((await run()).dir, { recursive: true, force: true }); // warm: node's modules, the registry's files
    for (let i = 0; i < N; i++) {
      for (const [name, run] of Object.entries(rows)) {
        await settle();
        const c0 = cpuSeconds();
        const r = await run();
        cpu[name].push(cpuSeconds() - c0);
        rmSync(r.dir, { recursive: true, force: true });
        samples[name].push(r.total);
        if (r.parts) r.parts.forEach((p, j) => parts[j].push(p));
      }
    }
    const base = median(samples.floor);
    const cpuBase = median(cpu.floor);
    console.log(`pull + unpack of postgres (${manifest.layers.length} gzip layers, ${mb.toFixed(1)} MB) from a local registry, cold store; median of ${N} runs:`);
    console.log('  row                  wall   MB/s  wall/floor    CPU s  CPU/floor');
    for (const [name, xs] of Object.entries(samples)) {
      const m = median(xs);
      const c = median(cpu[name]);
      console.log(`  ${name.padEnd(12)} ${ms(m).padStart(12)} ${(mb / (m / 1000)).toFixed(1).padStart(6)} ${(m / base).toFixed(2).padStart(10)}× ${c.toFixed(2).padStart(8)} ${(c / cpuBase).toFixed(2).padStart(9)}×`);
    }
    console.log(`  (floor = skopeo copy ${ms(median(parts[0]))} + tar -xzf ${ms(median(parts[1]))})`);
    const what = 'skopeo copy + tar -xzf';
    emitRow('pull', 'pullImage() postgres', median(samples['pullImage()']), base, 1.5, what);
    emitRow('pull', 'stack pull postgres', median(samples['stack pull']), base, 1.5, what);
    emitRow('pull', 'pullImage() postgres, CPU ms', median(cpu['pullImage()']) * 1000, cpuBase * 1000, null, `CPU of ${what}`);
  }

  // ---- table 2: image service vs host binary ----
  if (only !== 'pull') {
    const state = fresh('svc-state');
    const env = { ...process.env, STACK_ROOT: state, STACK_IP_FORWARD: 'leave' };
    const projects = {
      image: { name: `bi${randomBytes(4).toString('hex')}`, service: `    image: ${redisRef}\n    command: redis-server --save ''\n` },
      host: { name: `bh${randomBytes(4).toString('hex')}`, service: `    command: /usr/bin/redis-server --save ''\n    user: redis\n` },
    };
    for (const p of Object.values(projects)) {
      p.dir = fresh(p.name);
      writeFileSync(join(p.dir, 'compose.yaml'), `name: ${p.name}\nservices:\n  redis:\n${p.service}`);
    }
    const up = { image: [], host: [] };
    const down = { image: [], host: [] };
    try {
      await stack(projects.image.dir, env, ['pull', '-q']);
      const round = async (kind, record) => {
        const p = projects[kind];
        const u = await stack(p.dir, env, ['up', '-d', '--progress', 'quiet']);
        const ps = JSON.parse((await stack(p.dir, env, ['ps', '--format', 'json'])).stdout);
        if (ps.length !== 1 || ps[0].state !== 'running') throw new Error(`${kind}: redis is not running after up: ${JSON.stringify(ps)}`);
        const d = await stack(p.dir, env, ['down', '-v', '--progress', 'quiet']);
        if (record) (up[kind].push(u.ms), down[kind].push(d.ms));
      };
      await round('image', false); // warm
      await round('host', false);
      for (let i = 0; i < N; i++) (await round('image', true), await round('host', true));
    } finally {
      for (const p of Object.values(projects)) await stack(p.dir, env, ['-p', p.name, 'down', '-v', '--progress', 'quiet']).catch(() => undefined);
    }
    console.log(`start of one service, redis-server --save '', as the redis image vs the host's binary; median of ${N} runs:`);
    console.log('  service           up -d        down -v');
    for (const kind of ['image', 'host']) console.log(`  ${kind.padEnd(10)} ${ms(median(up[kind])).padStart(12)}  ${ms(median(down[kind])).padStart(12)}`);
    console.log(`  image/host ${(median(up.image) / median(up.host)).toFixed(2).padStart(11)}×  ${(median(down.image) / median(down.host)).toFixed(2).padStart(11)}×`);
    emitRow('pull', 'up -d redis image', median(up.image), median(up.host), null, 'up -d of /usr/bin/redis-server');
    emitRow('pull', 'down -v redis image', median(down.image), median(down.host), null, 'down -v of /usr/bin/redis-server');
  }
} finally {
  await reg.stop();
  rmSync(work, { recursive: true, force: true });
}
