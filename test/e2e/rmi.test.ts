// `stack rmi`, `stack image rm|ls|prune` through the real CLI (bin/stack.cjs over dist/: `npm run
// build` first) on a real store (layers unpacked from real tars, a project snapshot as `up` writes
// it): docker's messages (`Untagged:`/`Deleted:`, `Deleted Images:`, `Total reclaimed space:`),
// exit 1 with the project and service named for an image in use, IMAGE_NOT_FOUND, removal by
// short name and by image ID prefix, the prune prompt answered on stdin (closed stdin = no).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ImageStore, type ImageRecord } from '../../src/image/store.js';
import { verifyStore } from '../../src/image/verify.js';
import { stateRoots } from '../../src/state/paths.js';
import { layerTar, putImage, putProjectUsing } from '../harness/image-store.js';
import { describeRoot } from '../harness/require.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));

describeRoot('stack rmi / stack image prune', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stack-rmi-e2e-'));
  const env = { ...process.env, STACK_ROOT: join(dir, 'state') };
  const roots = stateRoots(env);
  const store = ImageStore.forRoots(roots);
  const stack = (args: string[], input = '') => execa(process.execPath, [bin, ...args], { cwd: dir, env, reject: false, input });
  let pg: ImageRecord;
  let used: ImageRecord;
  let other: ImageRecord;
  let spare: ImageRecord;

  beforeAll(async () => {
    const base = await layerTar({ 'etc/os-release': 'ID=e2e\n' });
    pg = await putImage(store, 'docker.io/library/postgres:16', [base, await layerTar({ 'pg.txt': 'pg' })]);
    used = await putImage(store, 'docker.io/library/redis:7', [base, await layerTar({ 'redis.txt': 'r' })]);
    other = await putImage(store, 'ghcr.io/o/tool:1', [await layerTar({ 'tool.txt': 't'.repeat(50_000) })]);
    spare = await putImage(store, 'docker.io/library/spare:1', [await layerTar({ 'spare.txt': 's' })]);
    await putProjectUsing(roots, 'shop', { cache: used });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('rmi -h prints the usage; `stack --help` lists rmi and image', async () => {
    const help = await stack(['rmi', '-h']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('Usage: stack rmi [OPTIONS] IMAGE [IMAGE...]');
    const all = await stack(['--help']);
    expect(all.stdout).toMatch(/^ {2}rmi /m);
    expect(all.stdout).toMatch(/^ {2}image /m);
  });

  it('rmi of an image a project uses exits 1 naming the project and service, and keeps it', async () => {
    const r = await stack(['rmi', 'redis:7']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('stack: image redis:7 is used by project shop service cache');
    expect(r.stderr).toContain('hint: run `stack down` in project shop');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(await store.getRecord(used.name)).toEqual(used);
  });

  it('rmi of an unknown image exits 1 with IMAGE_NOT_FOUND naming it', async () => {
    const r = await stack(['rmi', 'nothere:1']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('no such image: nothere:1');
  });

  it('rmi by short name prints Untagged and Deleted lines as docker does; the shared base stays', async () => {
    const r = await stack(['rmi', 'postgres:16']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe([
      'Untagged: postgres:16',
      `Untagged: postgres@${pg.digest}`,
      `Deleted: ${pg.configDigest}`,
      `Deleted: ${pg.layers[1]}`,
    ].join('\n')); // execa strips the last newline
    expect(existsSync(store.layerDir(pg.layers[0]!))).toBe(true);
    expect(existsSync(store.layerDir(pg.layers[1]!))).toBe(false);
    expect(await verifyStore(store)).toEqual([]);
  });

  it('image rm by image ID prefix removes that image', async () => {
    const r = await stack(['image', 'rm', other.configDigest.slice(7, 19)]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('Untagged: ghcr.io/o/tool:1\n');
    expect(r.stdout.split('\n')).toContain(`Deleted: ${other.layers[0]}`);
    const ls = await stack(['image', 'ls']);
    expect(ls.exitCode).toBe(0);
    expect(ls.stdout).toContain('redis');
    expect(ls.stdout).not.toContain('ghcr.io/o/tool');
  });

  it('image prune asks first: a closed stdin is no and removes nothing', async () => {
    const r = await stack(['image', 'prune', '-a']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('Are you sure you want to continue? [y/N]');
    expect(r.stdout).not.toContain('Deleted Images:');
    expect(await store.getRecord(spare.name)).toEqual(spare);
  });

  it('image prune -a answered y removes the unused images and keeps the used one', async () => {
    const r = await stack(['image', 'prune', '-a'], 'y\n');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('Deleted Images:\nuntagged: spare:1\n');
    expect(r.stdout.split('\n')).toContain(`deleted: ${spare.layers[0]}`);
    expect(r.stdout).toContain('[y/N] \nDeleted Images:\n');
    expect(r.stdout).toMatch(/\nTotal reclaimed space: \d[\d.]*k?B$/);
    expect((await store.listRecords()).map((x) => x.name)).toEqual([used.name]);
    const again = await stack(['image', 'prune', '-f']);
    expect(again.stdout).toBe('Total reclaimed space: 0B');
    expect(await verifyStore(store)).toEqual([]);
  });
});
