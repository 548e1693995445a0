// The planner with network_mode: a service in another's netns or the host's gets no netns and
// no veth of its own and starts after its owner; a service that takes a network_mode drops the
// netns it had; a recreated owner takes its sharer along. Each plan applied converges.
import { describe, expect, test } from 'vitest';
import { plan } from '../../../src/planner/reconcile.js';
import { planRemove } from '../../../src/planner/down.js';
import { emptyLiveState } from '../../../src/state/live.js';
import type { Service } from '../../../src/spec/project.js';
import { project, service, simulate } from './fixtures.js';

const empty = emptyLiveState('p');
const sharer = (over: Partial<Service> = {}) =>
  service('side', { networkMode: { kind: 'service', service: 'web' }, networks: {}, dependsOn: { web: { condition: 'service_started', required: true, restart: true } }, ...over });
const ids = (p: ReturnType<typeof plan>) => p.operations.map((o) => o.id);

describe('network_mode in plans', () => {
  test('a sharer has no netns or veth and starts after its owner; planning again is empty', () => {
    const p = project([service('web'), sharer()]);
    const first = plan(p, empty);
    expect(ids(first)).toContain('create-netns:web');
    expect(ids(first).filter((id) => id.includes('side'))).toEqual(['start-service:side']);
    expect(first.operations.find((o) => o.id === 'start-service:side')!.dependsOn).toContain('start-service:web');
    const live = simulate(p, empty, first);
    expect(live.services.side!.netns).toBeNull();
    expect(plan(p, live).operations).toEqual([]);
    expect(simulate(project([]), live, planRemove(live, { volumes: true }))).toEqual(empty);
  });

  test('a service that moves to the host\'s netns drops its own netns and veth', () => {
    const before = project([service('web')]);
    const live = simulate(before, empty, plan(before, empty));
    const after = project([service('web', { networkMode: { kind: 'host' }, networks: {} })]);
    const next = plan(after, live);
    expect(ids(next)).toEqual(expect.arrayContaining(['stop-service:web', 'detach-veth:web/default', 'remove-netns:web', 'start-service:web']));
    expect(ids(next)).not.toContain('create-netns:web');
    const done = simulate(after, live, next);
    expect(done.services.web!.netns).toBeNull();
    expect(plan(after, done).operations.filter((o) => o.kind !== 'remove-network')).toEqual([]);
  });

  test('a recreated owner restarts its sharer', () => {
    const p = project([service('web'), sharer()]);
    const live = simulate(p, empty, plan(p, empty));
    const changed = project([service('web', { environment: { V: '2' } }), sharer()]);
    const next = plan(changed, live);
    const side = next.operations.filter((o) => o.id.endsWith(':side'));
    expect(side.map((o) => [o.id, o.cause])).toEqual([
      ['stop-service:side', 'web restarted'],
      ['start-service:side', 'web restarted'],
    ]);
  });
});
