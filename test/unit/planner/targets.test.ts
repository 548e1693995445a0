// The targeted plans: `up SERVICE...` (with --no-deps, --force-recreate), `restart`, `stop`,
// `start`. Each is checked by its printed plan and by applying it in the simulator.
import { describe, expect, test } from 'vitest';
import { plan, planRestart, planStart, planStop } from '../../../src/planner/reconcile.js';
import { renderPlan } from '../../../src/planner/render.js';
import { restartFollowers, withDependencies } from '../../../src/planner/targets.js';
import { emptyLiveState, type LiveState } from '../../../src/state/live.js';
import type { Project } from '../../../src/spec/project.js';
import { copy, network, needs, on, project, service, simulate, volume } from './fixtures.js';

const empty = emptyLiveState('p');
const follows = (dep: string) => ({ [dep]: { condition: 'service_started' as const, required: true, restart: true } });

// db <- api (restart: true) <- web (restart: true); worker -> db (no restart); tool alone on `tools`.
const app = project(
  [
    service('db', { volumes: [{ type: 'volume', source: 'data', target: '/data', readOnly: false }] }),
    service('api', { dependsOn: follows('db') }),
    service('web', { dependsOn: follows('api') }),
    service('worker', { dependsOn: needs('db') }),
    service('tool', { networks: on('tools') }),
  ],
  { volumes: [volume('data')] },
);

function upped(p: Project): LiveState {
  return simulate(p, empty, plan(p, empty));
}

describe('target sets', () => {
  test('withDependencies: the names and all they depend on, in spec order', () => {
    expect(withDependencies(app, ['web'])).toEqual(['db', 'api', 'web']);
    expect(withDependencies(app, ['tool', 'nope'])).toEqual(['tool']);
  });

  test('restartFollowers: transitively, only through restart: true', () => {
    expect([...restartFollowers(app, ['db'])]).toEqual([
      ['api', 'db'],
      ['web', 'api'],
    ]);
    expect([...restartFollowers(app, ['web'])]).toEqual([]);
  });
});

describe('up SERVICE...', () => {
  test('from nothing: the service, its dependencies, and only the networks and volumes they use', () => {
    expect(renderPlan(plan(app, empty, { services: ['api'] }))).toMatchInlineSnapshot(`
      "create-network  network:default   new network
      create-volume   volume:data       new volume
      create-netns    netns:api         new service
      create-netns    netns:db          new service
      attach-veth     veth:api/default  new service  (after create-network:default, create-netns:api)
      attach-veth     veth:db/default   new service  (after create-network:default, create-netns:db)
      start-service   service:db        new service  (after create-volume:data, attach-veth:db/default)
      start-service   service:api       new service  (after attach-veth:api/default, start-service:db)"
    `);
  });

  test('--no-deps: the service alone', () => {
    const live = copy(upped(app));
    live.services.db!.process!.alive = false;
    live.services.api!.process!.alive = false;
    expect(renderPlan(plan(app, live, { services: ['api'], noDeps: true }))).toMatchInlineSnapshot(`"start-service  service:api  not running"`);
  });

  test('services outside the target are left alone, changed or not, and orphans stay', () => {
    const live = upped(project([...Object.values(app.services), service('old')], { volumes: [volume('data')] }));
    const changed = project(
      [app.services.db!, app.services.api!, app.services.web!, { ...app.services.worker!, environment: { X: '1' } }, app.services.tool!],
      { volumes: [volume('data')] },
    );
    expect(renderPlan(plan(changed, live, { services: ['tool'] }))).toMatchInlineSnapshot(`"nothing to do"`);
    expect(renderPlan(plan(changed, live, { services: ['worker'] }))).toMatchInlineSnapshot(`
      "stop-service    service:worker  environment changed
      remove-service  service:worker  environment changed  (after stop-service:worker)
      start-service   service:worker  environment changed  (after remove-service:worker)"
    `);
  });

  test('--force-recreate: unchanged targets recreated, followers with restart: true restarted', () => {
    const live = upped(app);
    const p = plan(app, live, { services: ['db'], noDeps: true, forceRecreate: true });
    expect(renderPlan(p)).toMatchInlineSnapshot(`
      "stop-service    service:web  api restarted
      stop-service    service:api  db restarted  (after stop-service:web)
      stop-service    service:db   forced recreate  (after stop-service:api)
      remove-service  service:db   forced recreate  (after stop-service:db)
      start-service   service:db   forced recreate  (after remove-service:db)
      start-service   service:api  db restarted  (after start-service:db)
      start-service   service:web  api restarted  (after start-service:api)"
    `);
  });

  test('--no-recreate: a changed service that runs is left running, a stopped one is started, a new one made; orphans still go', () => {
    const live = copy(upped(project([...Object.values(app.services), service('old')], { volumes: [volume('data')] })));
    live.services.worker!.process!.alive = false;
    const changed = project(
      [{ ...app.services.db!, environment: { X: '1' } }, app.services.api!, app.services.web!, { ...app.services.worker!, environment: { X: '1' } }, app.services.tool!, service('extra')],
      { volumes: [volume('data')] },
    );
    expect(renderPlan(plan(changed, live, { noRecreate: true }))).toMatchInlineSnapshot(`
      "stop-service    service:old         removed from the spec
      detach-veth     veth:old/default    removed from the spec  (after stop-service:old)
      remove-netns    netns:old           removed from the spec  (after detach-veth:old/default)
      remove-service  service:old         removed from the spec  (after stop-service:old)
      create-netns    netns:extra         new service
      attach-veth     veth:extra/default  new service  (after create-netns:extra)
      start-service   service:extra       new service  (after attach-veth:extra/default)
      start-service   service:worker      not running"
    `);
    // the same without: both changed ones are recreated
    const plain = renderPlan(plan(changed, live));
    expect(plain).toMatch(/remove-service\s+service:db\s+environment changed/);
    expect(plain).toMatch(/remove-service\s+service:worker\s+environment changed/);
  });

  test('--always-recreate-deps: what the named services depend on is recreated, the named ones converge', () => {
    const live = upped(app);
    const p = renderPlan(plan(app, live, { services: ['worker'], alwaysRecreateDeps: true }));
    expect(p).toMatch(/remove-service\s+service:db\s+a dependency of a named service \(--always-recreate-deps\)/);
    // worker itself is unchanged and does not follow db's restarts (no restart: true); api and web do
    expect(p).not.toMatch(/service:worker/);
    expect(p).toMatch(/start-service\s+service:api\s+db restarted/);
    // naming no service, nothing is a dependency of a named one: a plain up
    expect(renderPlan(plan(app, live, { alwaysRecreateDeps: true }))).toBe('nothing to do');
    // --force-recreate is for the named ones: their unchanged dependencies stay, unless --always-recreate-deps
    const forced = renderPlan(plan(app, live, { services: ['worker'], forceRecreate: true }));
    expect(forced).toMatch(/remove-service\s+service:worker\s+forced recreate/);
    expect(forced).not.toMatch(/service:db/);
    expect(renderPlan(plan(app, live, { services: ['worker'], forceRecreate: true, alwaysRecreateDeps: true }))).toMatch(/remove-service\s+service:db\s+a dependency/);
  });

  test('--no-start: everything made, nothing started; a changed running service is recreated and left created', () => {
    expect(renderPlan(plan(app, empty, { services: ['api'], noStart: true }))).toMatchInlineSnapshot(`
      "create-network  network:default   new network
      create-volume   volume:data       new volume
      create-netns    netns:api         new service
      create-netns    netns:db          new service
      attach-veth     veth:api/default  new service  (after create-network:default, create-netns:api)
      attach-veth     veth:db/default   new service  (after create-network:default, create-netns:db)"
    `);
    const live = upped(app);
    const changed = project([{ ...app.services.db!, environment: { X: '1' } }, app.services.api!, app.services.web!, app.services.worker!, app.services.tool!], {
      volumes: [volume('data')],
    });
    const p = plan(changed, live, { noStart: true });
    expect(p.operations.filter((op) => op.kind === 'start-service')).toEqual([]);
    expect(renderPlan(p)).toMatch(/remove-service\s+service:db\s+environment changed/);
  });

  test('--force-recreate naming no service removes orphans and unused networks as a plain up does', () => {
    const live = upped(app);
    const smaller = project(
      Object.values(app.services).filter((s) => s.name !== 'tool'),
      { volumes: [volume('data')] },
    );
    const forced = renderPlan(plan(smaller, live, { forceRecreate: true }));
    expect(forced).toMatch(/remove-service\s+service:tool\s+removed from the spec/);
    expect(forced).toMatch(/remove-network\s+network:tools/);
    expect(forced).toMatch(/start-service\s+service:db\s+forced recreate/);
    // as the plain plan removes them
    const plain = renderPlan(plan(smaller, live));
    expect(plain).toMatch(/remove-service\s+service:tool/);
    expect(plain).toMatch(/remove-network\s+network:tools/);
  });

  test('a network recreated for a target remakes the veths of the services not targeted', () => {
    const live = upped(app);
    const changed = project(Object.values(app.services), { networks: [network('default', { internal: true })], volumes: [volume('data')] });
    const p = plan(changed, live, { services: ['worker'], noDeps: true });
    expect(renderPlan(p)).toMatchInlineSnapshot(`
      "detach-veth     veth:api/default     network default: internal changed
      detach-veth     veth:db/default      network default: internal changed
      detach-veth     veth:web/default     network default: internal changed
      detach-veth     veth:worker/default  network default: internal changed
      remove-network  network:default      internal changed  (after detach-veth:api/default, detach-veth:db/default, detach-veth:web/default, detach-veth:worker/default)
      create-network  network:default      internal changed  (after remove-network:default)
      attach-veth     veth:api/default     network default: internal changed  (after create-network:default)
      attach-veth     veth:db/default      network default: internal changed  (after create-network:default)
      attach-veth     veth:web/default     network default: internal changed  (after create-network:default)
      attach-veth     veth:worker/default  network default: internal changed  (after create-network:default)"
    `);
    expect(renderPlan(plan(changed, simulate(changed, live, p)))).toMatchInlineSnapshot(`"nothing to do"`);
  });
});

describe('restart', () => {
  test('a service and the services that follow it with restart: true, in dependency order', () => {
    const live = upped(app);
    const p = planRestart(app, live, { services: ['db'], cause: 'stack restart' });
    expect(renderPlan(p)).toMatchInlineSnapshot(`
      "stop-service   service:web  api restarted
      stop-service   service:api  db restarted  (after stop-service:web)
      stop-service   service:db   stack restart  (after stop-service:api)
      start-service  service:db   stack restart  (after stop-service:db)
      start-service  service:api  db restarted  (after start-service:db)
      start-service  service:web  api restarted  (after start-service:api)"
    `);
    expect(renderPlan(plan(app, simulate(app, live, p)))).toMatchInlineSnapshot(`"nothing to do"`);
  });

  test('--no-deps: only the named service', () => {
    expect(renderPlan(planRestart(app, upped(app), { services: ['db'], cause: 'stack restart', noDeps: true }))).toMatchInlineSnapshot(`
      "stop-service   service:db  stack restart
      start-service  service:db  stack restart  (after stop-service:db)"
    `);
  });

  test('a stopped service is started; a changed one is not recreated', () => {
    const live = copy(upped(app));
    live.services.worker!.process!.alive = false;
    const changed = project([app.services.db!, app.services.api!, app.services.web!, app.services.worker!, { ...app.services.tool!, environment: { X: '1' } }], {
      volumes: [volume('data')],
    });
    expect(renderPlan(planRestart(changed, live, { services: ['worker', 'tool'], cause: 'stack restart' }))).toMatchInlineSnapshot(`
      "stop-service   service:tool    stack restart
      start-service  service:tool    stack restart  (after stop-service:tool)
      start-service  service:worker  stack restart"
    `);
  });

  test('a service never started is left alone', () => {
    expect(renderPlan(planRestart(app, empty, { services: ['db'], cause: 'stack restart' }))).toMatchInlineSnapshot(`"nothing to do"`);
  });
});

describe('stop and start', () => {
  test('stop: dependents first, nothing else', () => {
    const live = upped(app);
    expect(renderPlan(planStop(app, live, { services: Object.keys(app.services), cause: 'stack stop' }))).toMatchInlineSnapshot(`
      "stop-service  service:worker  stack stop
      stop-service  service:web     stack stop
      stop-service  service:tool    stack stop
      stop-service  service:api     stack stop  (after stop-service:web)
      stop-service  service:db      stack stop  (after stop-service:worker, stop-service:api)"
    `);
    expect(renderPlan(planStop(app, live, { services: ['api'], cause: 'stack stop' }))).toMatchInlineSnapshot(`"stop-service  service:api  stack stop"`);
  });

  test('start after stop: started again with what it depends on, not recreated', () => {
    const live = upped(app);
    const stopped = simulate(app, live, planStop(app, live, { services: ['db', 'api', 'web'], cause: 'stack stop' }));
    const p = planStart(app, stopped, { services: ['web'], cause: 'stack start' });
    expect(renderPlan(p)).toMatchInlineSnapshot(`
      "start-service  service:db   stack start
      start-service  service:api  stack start  (after start-service:db)
      start-service  service:web  stack start  (after start-service:api)"
    `);
    expect(renderPlan(plan(app, simulate(app, stopped, p)))).toMatchInlineSnapshot(`"nothing to do"`);
  });

  test('start never creates a service', () => {
    const live = copy(upped(project([app.services.db!], { volumes: [volume('data')] })));
    live.services.db!.process!.alive = false;
    expect(renderPlan(planStart(app, live, { services: ['api'], cause: 'stack start' }))).toMatchInlineSnapshot(`"start-service  service:db  stack start"`);
  });

  test('start never recreates a changed service (it starts with the spec it is given)', () => {
    const live = copy(upped(app));
    live.services.tool!.process!.alive = false;
    live.services.worker!.process!.alive = false;
    const changed = project([app.services.db!, app.services.api!, app.services.web!, { ...app.services.worker!, environment: { X: '1' } }, app.services.tool!], {
      volumes: [volume('data')],
    });
    expect(renderPlan(planStart(changed, live, { services: ['worker', 'db'], cause: 'stack start' }))).toMatchInlineSnapshot(`"start-service  service:worker  stack start"`);
  });
});
