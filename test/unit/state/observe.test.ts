import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { readBootId, readStartTime } from '../../../src/runtime/proc.js';
import { attachmentHash, hashNetwork, hashService } from '../../../src/planner/hash.js';
import { plan } from '../../../src/planner/reconcile.js';
import { renderPlan } from '../../../src/planner/render.js';
import { emptyLiveState } from '../../../src/state/live.js';
import { listProjects, observe, observeProcesses } from '../../../src/state/observe.js';
import { stateRoots, type StateRoots } from '../../../src/state/paths.js';
import {
  freshServiceRecord,
  networkRecords,
  serviceRecords,
  volumeRecords,
  type ServiceRecord,
} from '../../../src/state/records.js';
import { project, service } from '../planner/fixtures.js';

// Real kernel, no root: this test process is a live process, an exited child is a dead one,
// /proc/self/ns/net is a real namespace (nsfs) a symlink can stand for, `lo` is a real link.
let dir: string;
let roots: StateRoots;
let netnsDir: string;
const boot = readBootId();
const me = { pid: process.pid, startTime: readStartTime(process.pid) as number };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stack-observe-'));
  roots = stateRoots({ STACK_ROOT: join(dir, 'state') });
  netnsDir = join(dir, 'netns');
  await mkdir(netnsDir);
  await symlink('/proc/self/ns/net', join(netnsDir, 'stk-p-web'));
  await writeFile(join(netnsDir, 'stk-p-stale'), '');
  await mkdir(join(dir, 'cgroup/web'), { recursive: true });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function deadPid(): number {
  const child = spawnSync('true');
  expect(child.status).toBe(0);
  return child.pid as number;
}

/** A record of web as `up` leaves it: everything it claims exists. */
function webRecord(over: Partial<ServiceRecord> = {}): ServiceRecord {
  return {
    ...freshServiceRecord('p', 'web', boot),
    config: { hash: 'h', fields: {} },
    netns: 'stk-p-web',
    veths: { default: { host: 'lo', peer: 'eth0', attachHash: 'a' } },
    cgroups: [join(dir, 'cgroup/web')],
    process: me,
    ...over,
  };
}

describe('observe', () => {
  test('an empty host observes as empty', async () => {
    expect(await observe('p', { roots, netnsDir })).toEqual(emptyLiveState('p'));
  });

  test('a record whose objects all exist observes as present and alive', async () => {
    await serviceRecords.write(roots, webRecord());
    const live = await observe('p', { roots, netnsDir });
    expect(live.services.web).toEqual({
      name: 'web',
      config: { hash: 'h', fields: {} },
      dependsOn: [],
      netns: { name: 'stk-p-web', present: true },
      veths: { default: { network: 'default', host: { name: 'lo', present: true }, peer: 'eth0', attachHash: 'a' } },
      cgroups: [{ name: join(dir, 'cgroup/web'), present: true }],
      process: { ...me, alive: true },
    });
  });

  test.each([
    ['a dead pid', () => ({ process: { pid: deadPid(), startTime: me.startTime } })],
    ['a live pid with another start time (pid reused)', () => ({ process: { pid: me.pid, startTime: me.startTime + 1 } })],
  ])('a record pointing at %s: the process is not alive', async (_, over) => {
    await serviceRecords.write(roots, webRecord(over()));
    const live = await observe('p', { roots, netnsDir });
    expect(live.services.web?.process?.alive).toBe(false);
    expect(live.services.web?.netns?.present).toBe(true);
  });

  test('a netns that is gone, or is a plain file, a link and a cgroup that are gone: not present', async () => {
    await serviceRecords.write(
      roots,
      webRecord({
        netns: 'stk-p-stale',
        veths: { default: { host: 'stkvgone0000', peer: 'eth0', attachHash: 'a' } },
        cgroups: [join(dir, 'cgroup/none')],
      }),
    );
    await serviceRecords.write(roots, { ...webRecord({ netns: 'stk-p-missing' }), service: 'api' });
    const live = await observe('p', { roots, netnsDir });
    expect(live.services.web?.netns).toEqual({ name: 'stk-p-stale', present: false });
    expect(live.services.web?.veths.default?.host.present).toBe(false);
    expect(live.services.web?.cgroups).toEqual([{ name: join(dir, 'cgroup/none'), present: false }]);
    expect(live.services.api?.netns).toEqual({ name: 'stk-p-missing', present: false });
  });

  test('records from another boot are not believed: everything they claim is gone', async () => {
    await serviceRecords.write(roots, webRecord({ bootId: 'another-boot' }));
    await networkRecords.write(roots, { version: 1, kind: 'network', project: 'p', key: 'default', bootId: 'another-boot', config: { hash: 'n', fields: {} }, bridge: 'lo' });
    const live = await observe('p', { roots, netnsDir });
    const web = live.services.web;
    expect(web?.process).toEqual({ ...me, alive: false });
    expect(web?.netns?.present).toBe(false);
    expect(web?.veths.default?.host.present).toBe(false);
    expect(web?.cgroups.every((c) => !c.present)).toBe(true);
    expect(live.networks.default?.bridge).toEqual({ name: 'lo', present: false });
  });

  test('networks and volumes: bridge and folder probed', async () => {
    await networkRecords.write(roots, { version: 1, kind: 'network', project: 'p', key: 'default', bootId: boot, config: { hash: 'n', fields: {} }, bridge: 'lo' });
    await networkRecords.write(roots, { version: 1, kind: 'network', project: 'p', key: 'back', bootId: boot, config: { hash: 'n', fields: {} }, bridge: 'stkbgone0000' });
    await volumeRecords.write(roots, { version: 1, kind: 'volume', project: 'p', key: 'data', name: 'p_data', path: join(dir, 'cgroup') });
    await volumeRecords.write(roots, { version: 1, kind: 'volume', project: 'p', key: 'anon1', name: 'p_anon1', path: join(dir, 'nope'), owner: 'web' });
    const live = await observe('p', { roots, netnsDir });
    expect(live.networks.default?.bridge.present).toBe(true);
    expect(live.networks.back?.bridge.present).toBe(false);
    expect(live.volumes).toEqual({
      anon1: { key: 'anon1', name: 'p_anon1', path: join(dir, 'nope'), present: false, owner: 'web' },
      data: { key: 'data', name: 'p_data', path: join(dir, 'cgroup'), present: true },
    });
  });

  test('observeProcesses: the processes observe sees (alive, dead, another boot, a one-off without one)', async () => {
    const dead = deadPid();
    await serviceRecords.write(roots, webRecord());
    await serviceRecords.write(roots, { ...webRecord({ process: { pid: dead, startTime: me.startTime } }), service: 'api' });
    await serviceRecords.write(roots, { ...webRecord({ process: null, oneOff: { service: 'web' } }), service: 'web-run-1' });
    await serviceRecords.write(roots, { ...webRecord({ bootId: 'another-boot' }), service: 'old' });
    const full = await observe('p', { roots, netnsDir });
    const processes = await observeProcesses('p', { roots, netnsDir });
    // Beside each process, the cgroup folders its record names (`ps` reads their freezer: paused).
    // and whether it is made and never started (its record holds no configuration): `ps` shows it created
    expect(processes.services).toEqual(
      Object.fromEntries(
        Object.entries(full.services).map(([k, s]) => [
          k,
          { name: s.name, process: s.process, ...(s.oneOff !== undefined && { oneOff: s.oneOff }), cgroupDirs: s.cgroups.map((c) => c.name), created: s.config === null && s.process === null },
        ]),
      ),
    );
    expect(processes.services.web?.process?.alive).toBe(true);
    expect(processes.services.api?.process?.alive).toBe(false);
    expect(processes.services.old?.process?.alive).toBe(false);
    expect(processes.services['web-run-1']).toMatchObject({ name: 'web-run-1', process: null, oneOff: 'web' });
    expect(processes.services.web?.created).toBe(false);
    await serviceRecords.write(roots, { ...webRecord({ process: null, config: null }), service: 'made' });
    expect((await observeProcesses('p', { roots, netnsDir })).services.made?.created).toBe(true);
  });

  test('an unreadable record is a warning, the rest is still observed', async () => {
    await serviceRecords.write(roots, webRecord());
    await writeFile(join(dir, 'state/run/p/services/api.json'), '{');
    const live = await observe('p', { roots, netnsDir });
    expect(Object.keys(live.services)).toEqual(['web']);
    expect(live.warnings).toEqual([expect.stringContaining('api.json is unreadable')]);
  });

  test('drift observed is what the planner repairs', async () => {
    const desired = project([service('web')]);
    // Records as `up` leaves them, stamped with the planner's hashes; only the process is dead.
    await networkRecords.write(roots, { version: 1, kind: 'network', project: 'p', key: 'default', bootId: boot, config: hashNetwork(desired.networks.default!), bridge: 'lo' });
    const upped = webRecord({
      config: hashService(desired.services.web!),
      veths: { default: { host: 'lo', peer: 'eth0', attachHash: attachmentHash(0, undefined) } },
    });
    await serviceRecords.write(roots, upped);
    expect(renderPlan(plan(desired, await observe('p', { roots, netnsDir })))).toBe('nothing to do');
    await serviceRecords.write(roots, { ...upped, process: { pid: deadPid(), startTime: me.startTime } });
    expect(renderPlan(plan(desired, await observe('p', { roots, netnsDir })))).toBe('start-service  service:web  not running');
  });
});

test('listProjects names every project with state, runtime or persistent', async () => {
  await serviceRecords.write(roots, webRecord());
  await volumeRecords.write(roots, { version: 1, kind: 'volume', project: 'q', key: 'data', name: 'q_data', path: '/x' });
  expect(await listProjects(roots)).toEqual(['p', 'q']);
  expect(await listProjects(stateRoots({ STACK_ROOT: join(dir, 'nothing') }))).toEqual([]);
});
