// What every apply keeps in the allocation and the snapshot besides the project it is given
// (executor/oneoff.ts withOneOffs): the one-offs, from their records; the services that are there
// and that its plan leaves, as the snapshot last had them (less a port a service of the project
// publishes); a network only a one-off that stays is plugged into.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordOneOff, withOneOffs } from '../../../src/executor/oneoff.js';
import type { Plan } from '../../../src/planner/plan.js';
import type { Project, Service } from '../../../src/spec/project.js';
import { stateRoots, type StateRoots } from '../../../src/state/paths.js';
import { freshServiceRecord, serviceRecords } from '../../../src/state/records.js';
import { writeSnapshot } from '../../../src/state/snapshot.js';
import { network, on, project, service } from '../planner/fixtures.js';

let dir: string;
let roots: StateRoots;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stack-carried-'));
  roots = stateRoots({ STACK_ROOT: dir });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const published = (hostPort: number): Partial<Service> => ({ ports: [{ hostIp: '127.0.0.1', hostPort, containerPort: 80, protocol: 'tcp' }] });
/** As the last up applied it: web on front, debug and b on default. */
const applied = project([service('web', { networks: on('front'), ...published(8080) }), service('debug'), service('b', published(9090))]);
const nothing: Plan = { project: 'p', operations: [] };

async function there(...services: string[]): Promise<void> {
  for (const s of services) await serviceRecords.write(roots, freshServiceRecord('p', s, 'boot'));
  await writeSnapshot(roots, applied, { version: 1, networks: {} });
}

describe('what an apply carries', () => {
  it('the services there that its project lacks and its plan leaves, with their network, as last applied', async () => {
    await there('web', 'debug', 'b');
    const front = project([service('web', { networks: on('front'), ...published(8080) })]);
    const full = await withOneOffs(front, roots, nothing);
    expect(Object.keys(full.services)).toEqual(['b', 'debug', 'web']);
    expect(Object.keys(full.networks)).toEqual(['default', 'front']);
    expect(full.services.b).toEqual(applied.services.b);
    // One the plan removes is not; one whose port a service of the project publishes now is
    // carried without that port (its address and names stay).
    const removing: Plan = { project: 'p', operations: [{ id: 'remove-service:b', kind: 'remove-service', service: 'b', resource: 'service:b', cause: 'x', dependsOn: [] }] };
    expect(Object.keys((await withOneOffs(front, roots, removing)).services)).toEqual(['debug', 'web']);
    const taking = project([service('web', { networks: on('front'), ...published(9090) })]);
    const yielded = await withOneOffs(taking, roots, nothing);
    expect(Object.keys(yielded.services)).toEqual(['b', 'debug', 'web']);
    expect(yielded.services.b!.ports).toEqual([]);
  });

  it('nothing without a snapshot, and nothing read when the project has every service there', async () => {
    await serviceRecords.write(roots, freshServiceRecord('p', 'b', 'boot'));
    const front = project([service('web', { networks: on('front') })]);
    expect(await withOneOffs(front, roots, nothing)).toBe(front);
    await there('web', 'debug', 'b');
    expect(await withOneOffs(applied, roots, nothing)).toBe(applied);
  });

  it("a one-off's network the project no longer has, as last applied", async () => {
    await there('web');
    await recordOneOff(roots, 'p', 'boot', 'debug', { ...applied.services.debug!, name: 'debug-run-1' });
    const front = project([service('web', { networks: on('front'), ...published(8080) })]);
    const full: Project = await withOneOffs(front, roots, nothing);
    expect(Object.keys(full.services)).toEqual(['debug-run-1', 'web']);
    expect(full.networks.default).toEqual(network('default'));
  });
});
