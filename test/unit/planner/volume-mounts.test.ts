// The plans of a volume with driver_opts: `up` mounts it with its creation, and again when its
// mount is not there (after a `down`, a reboot); `down` takes it off once nothing of the project
// runs (unmount-volume), `down -v` with the removal; a change of its options while mounted is
// refused with the way to apply it. The kernel side: test/integration/up-down/volume-mounts.test.ts.
import { describe, expect, test } from 'vitest';
import { plan } from '../../../src/planner/reconcile.js';
import { planDown } from '../../../src/planner/down.js';
import { renderPlan } from '../../../src/planner/render.js';
import { emptyLiveState } from '../../../src/state/live.js';
import { UserError } from '../../../src/errors.js';
import type { Volume } from '../../../src/spec/project.js';
import { copy, project, service, simulate, volume } from './fixtures.js';

const tmpfs: Volume = volume('scratch', { mount: { kind: 'tmpfs', device: 'tmpfs', options: ['size=8m'] } });
const bound: Volume = volume('host', { mount: { kind: 'bind', device: '/srv/data', options: ['bind'] } });
const plain: Volume = volume('plain');
const mounts = (...keys: string[]) => keys.map((source) => ({ type: 'volume' as const, source, target: `/${source}`, readOnly: false }));
const app = project([service('app', { volumes: mounts('scratch', 'host', 'plain') })], { volumes: [tmpfs, bound, plain] });

describe('volumes with driver_opts', () => {
  test('up mounts them before the service starts; a second up has nothing to do', () => {
    const first = plan(app, emptyLiveState('p'));
    expect(first.operations.filter((op) => op.kind === 'create-volume').map((op) => op.id)).toEqual(['create-volume:host', 'create-volume:plain', 'create-volume:scratch']);
    const live = simulate(app, emptyLiveState('p'), first);
    expect(live.volumes.scratch?.mount).toEqual({ kind: 'tmpfs', device: 'tmpfs', options: ['size=8m'], mounted: true });
    expect(renderPlan(plan(app, live))).toBe('nothing to do');
  });

  test('down unmounts them after the stops, keeping the volumes; up mounts them again', () => {
    const up = simulate(app, emptyLiveState('p'), plan(app, emptyLiveState('p')));
    const down = planDown(up, { volumes: false });
    const unmounts = down.operations.filter((op) => op.kind === 'unmount-volume');
    expect(unmounts.map((op) => op.id)).toEqual(['unmount-volume:host', 'unmount-volume:scratch']);
    for (const op of unmounts) expect(op.dependsOn).toEqual(expect.arrayContaining(['stop-service:app', 'remove-service:app']));
    expect(down.operations.some((op) => op.kind === 'remove-volume')).toBe(false);
    expect(down.operations.find((op) => op.kind === 'remove-project')?.dependsOn).toEqual(expect.arrayContaining(['unmount-volume:host', 'unmount-volume:scratch']));
    const after = simulate(app, up, { ...down, operations: down.operations.filter((op) => op.kind !== 'stop-supervisor' && op.kind !== 'remove-project').map((op) => ({ ...op, dependsOn: op.dependsOn.filter((d) => d !== 'stop-supervisor') })) });
    expect(after.volumes.scratch?.mount?.mounted).toBe(false);
    const again = plan(app, after);
    expect(again.operations.filter((op) => op.kind === 'create-volume').map((op) => [op.id, op.cause])).toEqual([
      ['create-volume:host', 'its bind is not mounted (a down or a reboot took it off)'],
      ['create-volume:scratch', 'its tmpfs is not mounted (a down or a reboot took it off)'],
    ]);
    expect(again.operations.find((op) => op.kind === 'start-service')?.dependsOn).toEqual(expect.arrayContaining(['create-volume:host', 'create-volume:scratch']));
  });

  test('down -v removes them (the removal unmounts): no unmount-volume besides', () => {
    const up = simulate(app, emptyLiveState('p'), plan(app, emptyLiveState('p')));
    const down = planDown(up, { volumes: true });
    expect(down.operations.filter((op) => op.kind === 'unmount-volume')).toEqual([]);
    expect(down.operations.filter((op) => op.kind === 'remove-volume').map((op) => op.id).sort()).toEqual(['remove-volume:host', 'remove-volume:plain', 'remove-volume:scratch']);
  });

  test('down of a volume whose mount is not there has nothing of it to unmount', () => {
    const up = copy(simulate(app, emptyLiveState('p'), plan(app, emptyLiveState('p'))));
    up.volumes.scratch!.mount!.mounted = false;
    expect(planDown(up, { volumes: false }).operations.filter((op) => op.kind === 'unmount-volume').map((op) => op.id)).toEqual(['unmount-volume:host']);
  });

  test('options changed or removed while mounted: refused, saying how to apply them', () => {
    const up = simulate(app, emptyLiveState('p'), plan(app, emptyLiveState('p')));
    const bigger = project([service('app', { volumes: mounts('scratch', 'host', 'plain') })], {
      volumes: [volume('scratch', { mount: { kind: 'tmpfs', device: 'tmpfs', options: ['size=16m'] } }), bound, plain],
    });
    expect(() => plan(bigger, up)).toThrow(UserError);
    expect(() => plan(bigger, up)).toThrow(/volume scratch: its driver_opts changed while tmpfs tmpfs \(size=8m\) is mounted on it/);
    const none = project([service('app', { volumes: mounts('scratch', 'host', 'plain') })], { volumes: [volume('scratch'), bound, plain] });
    expect(() => plan(none, up)).toThrow(/were removed/);
    const down = copy(up);
    down.volumes.scratch!.mount!.mounted = false;
    expect(plan(bigger, down).operations.find((op) => op.id === 'create-volume:scratch')?.cause).toMatch(/not mounted/);
  });
});
