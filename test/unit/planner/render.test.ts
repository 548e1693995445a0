import { expect, test } from 'vitest';
import { plan } from '../../../src/planner/reconcile.js';
import { renderPlan, renderPlanJson } from '../../../src/planner/render.js';
import { emptyLiveState } from '../../../src/state/live.js';
import { project, service } from './fixtures.js';

test('an empty plan says so', () => {
  expect(renderPlan({ project: 'p', operations: [] })).toBe('nothing to do');
});

test('one line per operation, aligned, with its cause and what it waits for', () => {
  const out = renderPlan(plan(project([service('web')]), emptyLiveState('p')));
  expect(out.split('\n')).toEqual([
    'create-network  network:default   new network',
    'create-netns    netns:web         new service',
    'attach-veth     veth:web/default  new service  (after create-network:default, create-netns:web)',
    'start-service   service:web       new service  (after attach-veth:web/default)',
  ]);
});

test('destructive operations are marked', () => {
  const out = renderPlan({
    project: 'p',
    operations: [{ id: 'remove-volume:d', kind: 'remove-volume', volume: 'd', resource: 'volume:d', cause: 'stack down -v', dependsOn: [], destructive: true }],
  });
  expect(out).toBe('remove-volume  volume:d  stack down -v  [destroys data]');
});

test('the JSON form is the plan itself', () => {
  const p = plan(project([service('web')]), emptyLiveState('p'));
  const parsed = JSON.parse(renderPlanJson(p));
  expect(parsed).toEqual(p);
  expect(parsed.operations[3]).toMatchObject({
    id: 'start-service:web',
    kind: 'start-service',
    service: 'web',
    resource: 'service:web',
    cause: 'new service',
    dependsOn: ['attach-veth:web/default'],
  });
});
