import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { stateRoots, type StateRoots } from '../../../src/state/paths.js';
import {
  freshServiceRecord,
  networkRecords,
  serviceRecords,
  updateServiceRecord,
  volumeRecords,
  type ServiceRecord,
} from '../../../src/state/records.js';

let dir: string;
let roots: StateRoots;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stack-records-'));
  roots = stateRoots({ STACK_ROOT: dir });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const web: ServiceRecord = {
  ...freshServiceRecord('shop', 'web', 'boot-1'),
  config: { hash: 'h', fields: { environment: 'e' } },
  dependsOn: ['db'],
  netns: 'stk-shop-web',
  veths: { default: { host: 'stkv12345678', peer: 'eth0', attachHash: 'a' } },
  cgroups: ['/sys/fs/cgroup/pids/stack/shop/web'],
  process: { pid: 42, startTime: 1234 },
};

describe('records', () => {
  test('round-trip: what is written is read back, as JSON on disk, no temp file left', async () => {
    await serviceRecords.write(roots, web);
    expect(await serviceRecords.read(roots, 'shop', 'web')).toEqual(web);
    const file = join(dir, 'run/shop/services/web.json');
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(web);
    expect(await readdir(join(dir, 'run/shop/services'))).toEqual(['web.json']);
  });

  test('fields added by later layers survive a round-trip', async () => {
    await serviceRecords.write(roots, { ...web, logDir: '/x' } as ServiceRecord);
    expect(await serviceRecords.read(roots, 'shop', 'web')).toMatchObject({ logDir: '/x' });
  });

  test('an absent record reads as undefined; an unreadable one is a named error', async () => {
    expect(await serviceRecords.read(roots, 'shop', 'nope')).toBeUndefined();
    await mkdir(join(dir, 'run/shop/services'), { recursive: true });
    await writeFile(join(dir, 'run/shop/services/bad.json'), '{"version":1,"kind":"service"');
    await expect(serviceRecords.read(roots, 'shop', 'bad')).rejects.toMatchObject({ code: 'STATE_RECORD_INVALID' });
    await writeFile(join(dir, 'run/shop/services/bad.json'), '{"version":1,"kind":"service"}');
    await expect(serviceRecords.read(roots, 'shop', 'bad')).rejects.toThrow(/bad\.json is unreadable: project/);
  });

  test('readNow answers without a promise: the record, undefined when absent, and an unreadable one thrown at once', async () => {
    await serviceRecords.write(roots, web);
    expect(serviceRecords.readNow(roots, 'shop', 'web')).toEqual(web);
    expect(serviceRecords.readNow(roots, 'shop', 'nope')).toBeUndefined();
    await writeFile(join(dir, 'run/shop/services/bad.json'), '{"version":1,"kind":"service"');
    expect(() => serviceRecords.readNow(roots, 'shop', 'bad')).toThrow(expect.objectContaining({ code: 'STATE_RECORD_INVALID' }));
  });

  test('writing a record of the wrong shape is refused', async () => {
    await expect(serviceRecords.write(roots, { ...web, process: { pid: -1, startTime: 0 } })).rejects.toThrow();
    expect(await serviceRecords.read(roots, 'shop', 'web')).toBeUndefined();
  });

  test('list returns the readable records and a warning per unreadable one', async () => {
    await networkRecords.write(roots, { version: 1, kind: 'network', project: 'shop', key: 'back', bootId: 'b', config: { hash: 'x', fields: {} }, bridge: 'stkb1' });
    await writeFile(join(dir, 'run/shop/networks/broken.json'), 'nope');
    const { records, warnings } = await networkRecords.list(roots, 'shop');
    expect(records.map((r) => r.key)).toEqual(['back']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('broken.json is unreadable');
    expect(await networkRecords.list(roots, 'other')).toEqual({ records: [], warnings: [] });
  });

  test('volume records are persistent (under lib), separate from runtime', async () => {
    await volumeRecords.write(roots, { version: 1, kind: 'volume', project: 'shop', key: 'data', name: 'shop_data', path: '/v' });
    expect(await readdir(join(dir, 'lib/projects/shop/volumes'))).toEqual(['data.json']);
  });

  test('remove deletes the record and prunes the folders it leaves empty', async () => {
    await serviceRecords.write(roots, web);
    await serviceRecords.write(roots, { ...web, service: 'db' });
    await serviceRecords.remove(roots, 'shop', 'web');
    expect(await readdir(join(dir, 'run/shop/services'))).toEqual(['db.json']);
    await serviceRecords.remove(roots, 'shop', 'db');
    expect(await readdir(join(dir, 'run'))).toEqual([]);
    await serviceRecords.remove(roots, 'shop', 'db');
  });
});

describe('updateServiceRecord', () => {
  test('starts fresh, records each step, and deletes the file once it claims nothing', async () => {
    await updateServiceRecord(roots, 'shop', 'web', 'boot-1', (r) => ({ ...r, netns: 'stk-shop-web' }));
    expect((await serviceRecords.read(roots, 'shop', 'web'))?.netns).toBe('stk-shop-web');
    await updateServiceRecord(roots, 'shop', 'web', 'boot-1', (r) => ({ ...r, netns: null }));
    expect(await serviceRecords.read(roots, 'shop', 'web')).toBeUndefined();
  });

  test('a record from another boot is replaced, not extended', async () => {
    await serviceRecords.write(roots, web);
    const next = await updateServiceRecord(roots, 'shop', 'web', 'boot-2', (r) => ({ ...r, netns: 'stk-shop-web' }));
    expect(next).toEqual({ ...freshServiceRecord('shop', 'web', 'boot-2'), netns: 'stk-shop-web' });
  });

  test('concurrent updates of one record all land (no lost update)', async () => {
    const networks = Array.from({ length: 20 }, (_, i) => `n${i}`);
    await Promise.all(
      networks.map((n, i) =>
        updateServiceRecord(roots, 'shop', 'web', 'boot-1', (r) => ({
          ...r,
          veths: { ...r.veths, [n]: { host: `stkv${i}`, peer: `eth${i}`, attachHash: 'a' } },
        })),
      ),
    );
    const record = await serviceRecords.read(roots, 'shop', 'web');
    expect(Object.keys(record?.veths ?? {}).sort()).toEqual([...networks].sort());
  });

  test('writes to sibling records survive a concurrent prune of their folder', async () => {
    await serviceRecords.write(roots, web);
    await Promise.all([
      serviceRecords.remove(roots, 'shop', 'web'),
      ...['a', 'b', 'c'].map((s) => updateServiceRecord(roots, 'shop', s, 'boot-1', (r) => ({ ...r, netns: `stk-shop-${s}` }))),
    ]);
    expect((await serviceRecords.list(roots, 'shop')).records.map((r) => r.service)).toEqual(['a', 'b', 'c']);
  });
});
