// examples/images-dev through the real CLI (bin/stack.cjs over dist/: `npm run build` first): the
// compose file users would run against Docker Hub, pointed by STACK_REGISTRY at a real
// docker-registry on 127.0.0.1 holding the project's own postgres, redis and node test images
// (scripts/test-images.sh) under Docker Hub's names (library/postgres:15, ...). `up -d --wait`
// pulls, starts, the healthchecks pass, the app (its code bound from the example's folder) answers
// on its published port with data from redis and postgres; `down` + `up` keeps postgres's rows
// in its named volume; a second project on the same images pulls nothing; `down -v` of both
// leaves nothing. The app's npm dependencies are installed here (`npm ci` in
// examples/images-dev/app) when its node_modules is missing.
import { freePort } from '../harness/ports.js';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually } from '../harness/eventually.js';
import { imageStoreDir } from '../../src/image/paths.js';
import { netnsName, nftTableName } from '../../src/names.js';
import { describeWithImages, pushTestImage } from '../harness/images.js';
import { inventory } from '../harness/inventory.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));
const example = fileURLToPath(new URL('../../examples/images-dev/', import.meta.url));
const spec = join(example, 'compose.yaml');
const appDir = join(example, 'app');

/** What the app answers on GET /. */
interface Home {
  visits: number;
  boots: { id: number; at: string; hostname: string }[];
  postgres: string;
  redis: string;
  node: string;
}

describeWithImages({ root: true, commands: ['docker-registry', 'npm'] }, 'examples/images-dev', () => {
  const id = randomBytes(4).toString('hex');
  const projects = [`id${id}`, `io${id}`];
  const dir = mkdtempSync(join(tmpdir(), 'stack-images-dev-'));
  const state = join(dir, 'state');
  const lib = join(state, 'lib');
  const ports: number[] = [];
  let reg: TestRegistry | undefined;

  const stack = (project: 0 | 1, ...args: string[]) =>
    execa(process.execPath, [bin, '-p', projects[project]!, '-f', spec, ...args], {
      env: {
        ...process.env, STACK_ROOT: state, STACK_IP_FORWARD: 'leave', HOME: join(dir, 'home'), DOCKER_CONFIG: join(dir, 'docker'),
        STACK_REGISTRY: reg!.host, APP_PORT: String(ports[project]),
      },
      reject: false,
    });
  const home = async (project: 0 | 1): Promise<Home> => {
    const res = await fetch(`http://127.0.0.1:${ports[project]}/`);
    expect(res.status).toBe(200);
    return (await res.json()) as Home;
  };
  const layersInStore = () => readdirSync(join(imageStoreDir({ run: join(state, 'run'), lib }), 'layers')).sort();
  const health = async (project: 0 | 1) => {
    const ps = await stack(project, 'ps', '--format', 'json');
    expect(ps.exitCode, String(ps.stderr)).toBe(0);
    return Object.fromEntries((JSON.parse(ps.stdout) as { name: string; state: string; health: string | null }[]).map((r) => [r.name, `${r.state} ${r.health}`]));
  };

  beforeAll(async () => {
    ports.push(await freePort(), await freePort());
    if (!existsSync(join(appDir, 'node_modules'))) await execa('npm', ['ci', '--no-audit', '--no-fund'], { cwd: appDir });
    reg = await startRegistry();
    await Promise.all([
      pushTestImage(reg, 'postgres', 'library/postgres:15', { compression: 'gzip' }),
      pushTestImage(reg, 'redis', 'library/redis:7', { compression: 'gzip' }),
      pushTestImage(reg, 'node', 'library/node:18', { compression: 'gzip' }),
    ]);
  });

  afterAll(async () => {
    if (reg) for (const p of [0, 1] as const) await stack(p, 'down', '-v', '--timeout', '0');
    await reg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  let first: Home;

  it('up -d --wait pulls the three images, the healthchecks pass and the app answers with data from redis and postgres', async () => {
    const up = await stack(0, 'up', '-d', '--wait', '--progress', 'plain');
    expect(up.exitCode, `${up.stdout}\n${up.stderr}`).toBe(0);
    for (const name of ['library/postgres:15', 'library/redis:7', 'library/node:18']) expect(up.stderr).toContain(`${reg!.host}/${name}: pulled sha256:`);
    // The worker's image was built from examples/images-dev/worker on node's: its WORKDIR, COPY and RUN are layers.
    expect(up.stderr).toMatch(/\[worker 4\/\d+\] RUN node -e/);
    expect(up.stderr).toMatch(new RegExp(`built worker: docker.io/library/${projects[0]}-worker:latest`));
    // debian's layer is stored once for the three images: four layers, and the worker's three.
    expect(layersInStore()).toHaveLength(7);
    expect(await health(0)).toEqual({ postgres: 'running healthy', redis: 'running healthy', app: 'running healthy', worker: 'running null' });
    // The worker runs what its build made (build.json, written by the image's node) and reaches redis.
    const ticks = await eventually('the worker\'s ticks', async () => {
      const logs = (await stack(0, 'logs', '--no-log-prefix', 'worker')).stdout;
      return /worker: tick \d+/.test(logs) ? logs : undefined;
    });
    expect(ticks).toMatch(/^worker: built with node v18\.\S+, ticking redis at redis:6379$/m);

    first = await home(0);
    expect(first.visits).toBe(1);
    expect(first.boots).toHaveLength(1);
    expect(first.boots[0]).toMatchObject({ id: 1, hostname: 'app' });
    expect(first.postgres).toMatch(/^15\./);
    expect(first.redis).toMatch(/^7\./);
    expect(first.node).toMatch(/^v18\./); // the image's node, not the host's
    expect((await home(0)).visits).toBe(2); // the counter lives in redis
  });

  it('down then up again: postgres\'s rows are still there (its named volume was kept)', async () => {
    const down = await stack(0, 'down');
    expect(down.exitCode, String(down.stderr)).toBe(0);
    await expect(fetch(`http://127.0.0.1:${ports[0]}/`)).rejects.toThrow();
    const up = await stack(0, 'up', '-d', '--wait', '--progress', 'plain');
    expect(up.exitCode, `${up.stdout}\n${up.stderr}`).toBe(0);
    expect(up.stderr).not.toMatch(/pulled|building/); // the images, the built one too, are in the store
    const again = await home(0);
    expect(again.boots).toHaveLength(2);
    expect(again.boots[0]).toEqual(first.boots[0]); // the first start's row, as it was written
    expect(again.boots[1]!.id).toBe(2);
  });

  it('a second project on the same images pulls nothing and keeps its own data', async () => {
    const before = layersInStore();
    const up = await stack(1, 'up', '-d', '--wait', '--progress', 'plain');
    expect(up.exitCode, `${up.stdout}\n${up.stderr}`).toBe(0);
    expect(up.stderr).not.toMatch(/pull/i);
    expect(layersInStore()).toEqual(before);
    expect(await health(1)).toEqual({ postgres: 'running healthy', redis: 'running healthy', app: 'running healthy', worker: 'running null' });
    expect(up.stderr).toMatch(/\(0 steps run, 3 from the cache\)/); // its worker's image: every step from the build cache
    const other = await home(1);
    expect(other.visits).toBe(1);
    expect(other.boots.map((b) => b.id)).toEqual([1]); // its own pgdata volume
  });

  it('down -v of both projects leaves nothing of either on the host', async () => {
    for (const p of [0, 1] as const) {
      const down = await stack(p, 'down', '-v');
      expect(down.exitCode, String(down.stderr)).toBe(0);
    }
    for (const project of projects) {
      const left = inventory().filter((o) => o.includes(netnsName(project, '')) || o.includes(`stack/${project}`) || o.endsWith(nftTableName(project)));
      expect(left).toEqual([]);
      expect(existsSync(join(state, 'run', project))).toBe(false);
      expect(existsSync(join(lib, 'volumes', `${project}_pgdata`))).toBe(false);
    }
    expect(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4]?.startsWith(dir))).toEqual([]);
    await expect(fetch(`http://127.0.0.1:${ports[0]}/`)).rejects.toThrow();
    await expect(fetch(`http://127.0.0.1:${ports[1]}/`)).rejects.toThrow();
  });
});
