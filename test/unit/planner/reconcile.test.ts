import { describe, expect, test } from 'vitest';
import { plan } from '../../../src/planner/reconcile.js';
import { planDown, planRemove } from '../../../src/planner/down.js';
import { renderPlan } from '../../../src/planner/render.js';
import { emptyLiveState, type LiveState } from '../../../src/state/live.js';
import type { Project } from '../../../src/spec/project.js';
import { copy, network, needs, on, project, service, simulate, volume } from './fixtures.js';

const empty = emptyLiveState('p');

/** What the host looks like after `up` of this project from nothing. */
function upped(p: Project): LiveState {
  return simulate(p, empty, plan(p, empty));
}

const app = project(
  [
    service('db', { volumes: [{ type: 'volume', source: 'data', target: '/data', readOnly: false }] }),
    service('api', { dependsOn: needs('db'), environment: { PORT: '3000' } }),
    service('web', { dependsOn: needs('api'), ports: [{ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' }] }),
  ],
  { volumes: [volume('data')] },
);

interface Case {
  name: string;
  desired: () => Project;
  observed: () => LiveState;
  check: (rendered: string) => void;
}

const cases: Case[] = [
  {
    name: 'fresh up',
    desired: () => app,
    observed: () => empty,
    check: (out) => expect(out).toMatchInlineSnapshot(`
      "create-network  network:default   new network
      create-volume   volume:data       new volume
      create-netns    netns:api         new service
      create-netns    netns:db          new service
      create-netns    netns:web         new service
      attach-veth     veth:api/default  new service  (after create-network:default, create-netns:api)
      attach-veth     veth:db/default   new service  (after create-network:default, create-netns:db)
      attach-veth     veth:web/default  new service  (after create-network:default, create-netns:web)
      start-service   service:db        new service  (after create-volume:data, attach-veth:db/default)
      start-service   service:api       new service  (after attach-veth:api/default, start-service:db)
      start-service   service:web       new service  (after attach-veth:web/default, start-service:api)"
    `),
  },
  {
    name: 'no change',
    desired: () => app,
    observed: () => upped(app),
    check: (out) => expect(out).toMatchInlineSnapshot(`"nothing to do"`),
  },
  {
    name: 'environment changed: only that service is recreated',
    desired: () => project([app.services.db!, { ...app.services.api!, environment: { PORT: '4000' } }, app.services.web!], { volumes: [volume('data')] }),
    observed: () => upped(app),
    check: (out) => expect(out).toMatchInlineSnapshot(`
      "stop-service    service:api  environment changed
      remove-service  service:api  environment changed  (after stop-service:api)
      start-service   service:api  environment changed  (after remove-service:api)"
    `),
  },
  {
    name: 'two fields changed: the cause names both',
    desired: () =>
      project([app.services.db!, { ...app.services.api!, environment: {}, command: ['node', 'api.js'] }, app.services.web!], { volumes: [volume('data')] }),
    observed: () => upped(app),
    check: (out) => expect(out).toMatchInlineSnapshot(`
      "stop-service    service:api  command and environment changed
      remove-service  service:api  command and environment changed  (after stop-service:api)
      start-service   service:api  command and environment changed  (after remove-service:api)"
    `),
  },
  {
    name: 'a change to depends_on alone changes nothing',
    desired: () => project([app.services.db!, app.services.api!, { ...app.services.web!, dependsOn: needs('api', 'db') }], { volumes: [volume('data')] }),
    observed: () => upped(app),
    check: (out) => expect(out).toMatchInlineSnapshot(`"nothing to do"`),
  },
  {
    name: 'service removed from the spec',
    desired: () => project([app.services.db!, { ...app.services.api!}], { volumes: [volume('data')] }),
    observed: () => upped(app),
    check: (out) => expect(out).toMatchInlineSnapshot(`
      "stop-service    service:web       removed from the spec
      detach-veth     veth:web/default  removed from the spec  (after stop-service:web)
      remove-netns    netns:web         removed from the spec  (after detach-veth:web/default)
      remove-service  service:web       removed from the spec  (after stop-service:web)"
    `),
  },
  {
    name: 'network changed: bridge and its veths recreated, processes left running',
    desired: () => project(Object.values(app.services), { networks: [network('default', { internal: true })], volumes: [volume('data')] }),
    observed: () => upped(app),
    check: (out) => expect(out).toMatchInlineSnapshot(`
      "detach-veth     veth:api/default  network default: internal changed
      detach-veth     veth:db/default   network default: internal changed
      detach-veth     veth:web/default  network default: internal changed
      remove-network  network:default   internal changed  (after detach-veth:api/default, detach-veth:db/default, detach-veth:web/default)
      create-network  network:default   internal changed  (after remove-network:default)
      attach-veth     veth:api/default  network default: internal changed  (after create-network:default)
      attach-veth     veth:db/default   network default: internal changed  (after create-network:default)
      attach-veth     veth:web/default  network default: internal changed  (after create-network:default)"
    `),
  },
  {
    name: 'drift: process gone',
    desired: () => app,
    observed: () => {
      const live = copy(upped(app));
      live.services.api!.process!.alive = false;
      return live;
    },
    check: (out) => expect(out).toMatchInlineSnapshot(`"start-service  service:api  not running"`),
  },
  {
    name: 'drift: netns gone while the process runs',
    desired: () => app,
    observed: () => {
      const live = copy(upped(app));
      live.services.db!.netns!.present = false;
      return live;
    },
    check: (out) => expect(out).toMatchInlineSnapshot(`
      "stop-service   service:db       netns stk-p-db gone
      detach-veth    veth:db/default  netns stk-p-db gone  (after stop-service:db)
      create-netns   netns:db         netns stk-p-db gone
      attach-veth    veth:db/default  netns stk-p-db gone  (after detach-veth:db/default, create-netns:db)
      start-service  service:db       netns stk-p-db gone  (after attach-veth:db/default)"
    `),
  },
  {
    name: 'drift: netns gone with its process (the veth went with it)',
    desired: () => app,
    observed: () => {
      const live = copy(upped(app));
      live.services.web!.netns!.present = false;
      live.services.web!.veths.default!.host.present = false;
      live.services.web!.process!.alive = false;
      return live;
    },
    check: (out) => expect(out).toMatchInlineSnapshot(`
      "create-netns   netns:web         netns stk-p-web gone
      attach-veth    veth:web/default  netns stk-p-web gone  (after create-netns:web)
      start-service  service:web       not running  (after attach-veth:web/default)"
    `),
  },
  {
    name: 'drift: veth gone',
    desired: () => app,
    observed: () => {
      const live = copy(upped(app));
      live.services.api!.veths.default!.host.present = false;
      return live;
    },
    check: (out) => expect(out).toMatchInlineSnapshot(`"attach-veth  veth:api/default  veth stkv-api-default gone"`),
  },
  {
    name: 'drift: bridge gone',
    desired: () => app,
    observed: () => {
      const live = copy(upped(app));
      live.networks.default!.bridge.present = false;
      return live;
    },
    check: (out) => expect(out).toMatchInlineSnapshot(`
      "detach-veth     veth:api/default  network default: bridge stkb-default gone
      detach-veth     veth:db/default   network default: bridge stkb-default gone
      detach-veth     veth:web/default  network default: bridge stkb-default gone
      remove-network  network:default   bridge stkb-default gone  (after detach-veth:api/default, detach-veth:db/default, detach-veth:web/default)
      create-network  network:default   bridge stkb-default gone  (after remove-network:default)
      attach-veth     veth:api/default  network default: bridge stkb-default gone  (after create-network:default)
      attach-veth     veth:db/default   network default: bridge stkb-default gone  (after create-network:default)
      attach-veth     veth:web/default  network default: bridge stkb-default gone  (after create-network:default)"
    `),
  },
  {
    name: 'drift: volume folder gone',
    desired: () => app,
    observed: () => {
      const live = copy(upped(app));
      live.volumes.data!.present = false;
      return live;
    },
    check: (out) => expect(out).toMatchInlineSnapshot(`"create-volume  volume:data  folder /lib/data gone"`),
  },
  {
    name: 'depends_on chain and parallel branches',
    desired: () =>
      project([
        service('a'),
        service('b', { dependsOn: needs('a') }),
        service('c', { dependsOn: needs('b') }),
        service('x', { networks: on('back') }),
        service('y', { networks: on('back') }),
      ]),
    observed: () => empty,
    check: (out) => expect(out).toMatchInlineSnapshot(`
      "create-network  network:back     new network
      create-network  network:default  new network
      create-netns    netns:a          new service
      create-netns    netns:b          new service
      create-netns    netns:c          new service
      create-netns    netns:x          new service
      create-netns    netns:y          new service
      attach-veth     veth:a/default   new service  (after create-network:default, create-netns:a)
      attach-veth     veth:b/default   new service  (after create-network:default, create-netns:b)
      attach-veth     veth:c/default   new service  (after create-network:default, create-netns:c)
      attach-veth     veth:x/back      new service  (after create-network:back, create-netns:x)
      attach-veth     veth:y/back      new service  (after create-network:back, create-netns:y)
      start-service   service:a        new service  (after attach-veth:a/default)
      start-service   service:b        new service  (after attach-veth:b/default, start-service:a)
      start-service   service:c        new service  (after attach-veth:c/default, start-service:b)
      start-service   service:x        new service  (after attach-veth:x/back)
      start-service   service:y        new service  (after attach-veth:y/back)"
    `),
  },
  {
    name: 'joining a network with a higher priority renumbers the interfaces',
    desired: () => project([service('a', { networks: on('front', 'default'), environment: { X: '1' } })]),
    observed: () => upped(project([service('a', { environment: { X: '1' } })])),
    check: (out) => expect(out).toMatchInlineSnapshot(`
      "stop-service    service:a       networks changed
      detach-veth     veth:a/default  networks changed  (after stop-service:a)
      remove-service  service:a       networks changed  (after stop-service:a)
      create-network  network:front   new network
      attach-veth     veth:a/default  networks changed  (after detach-veth:a/default)
      attach-veth     veth:a/front    joined network front  (after detach-veth:a/default, create-network:front)
      start-service   service:a       networks changed  (after remove-service:a, attach-veth:a/default, attach-veth:a/front)"
    `),
  },
  {
    name: 'a service added joins the running project alone',
    desired: () => project([...Object.values(app.services), service('worker', { dependsOn: needs('db') })], { volumes: [volume('data')] }),
    observed: () => upped(app),
    check: (out) => expect(out).toMatchInlineSnapshot(`
      "create-netns   netns:worker         new service
      attach-veth    veth:worker/default  new service  (after create-netns:worker)
      start-service  service:worker       new service  (after attach-veth:worker/default)"
    `),
  },
  {
    name: 'a service moves to another network; the old one leaves the spec',
    desired: () => project([service('a', { networks: on('back') })]),
    observed: () => upped(project([service('a', { networks: on('front') })])),
    check: (out) => expect(out).toMatchInlineSnapshot(`
      "stop-service    service:a      networks changed
      detach-veth     veth:a/front   left network front  (after stop-service:a)
      remove-service  service:a      networks changed  (after stop-service:a)
      remove-network  network:front  removed from the spec  (after detach-veth:a/front)
      create-network  network:back   new network
      attach-veth     veth:a/back    joined network back  (after detach-veth:a/front, create-network:back)
      start-service   service:a      networks changed  (after remove-service:a, attach-veth:a/back)"
    `),
  },
  {
    name: 'depends_on.restart: a dependency restarted restarts its dependent',
    desired: () =>
      project([
        service('db', { environment: { V: '2' } }),
        service('api', { dependsOn: { db: { condition: 'service_started', required: true, restart: true } } }),
        service('web', { dependsOn: needs('db') }),
      ]),
    observed: () =>
      upped(
        project([
          service('db', { environment: { V: '1' } }),
          service('api', { dependsOn: { db: { condition: 'service_started', required: true, restart: true } } }),
          service('web', { dependsOn: needs('db') }),
        ]),
      ),
    check: (out) => expect(out).toMatchInlineSnapshot(`
      "stop-service    service:api  db restarted
      stop-service    service:db   environment changed  (after stop-service:api)
      remove-service  service:db   environment changed  (after stop-service:db)
      start-service   service:db   environment changed  (after remove-service:db)
      start-service   service:api  db restarted  (after start-service:db)"
    `),
  },
];

describe('plan(desired, observed)', () => {
  // A loop, not test.each: vitest keeps inline snapshots out of test.each.
  for (const { name, desired, observed, check } of cases) {
    test(name, () => check(renderPlan(plan(desired(), observed()))));
  }

  test.each(cases)('$name: applying the plan, then planning again, is empty', ({ desired, observed }) => {
    const p = desired();
    const before = observed();
    const after = simulate(p, before, plan(p, before));
    expect(renderPlan(plan(p, after))).toBe('nothing to do');
  });

  test('a project evolving through edits converges at every step, and down leaves nothing', () => {
    const steps = [
      app,
      project([app.services.db!, { ...app.services.api!, environment: { PORT: '4000' } }, app.services.web!], { volumes: [volume('data')] }),
      project(Object.values(app.services), { networks: [network('default', { internal: true })], volumes: [volume('data')] }),
      project([app.services.db!, { ...app.services.api!, networks: on('back', 'default') }], { volumes: [volume('data')] }),
      project([service('solo', { networks: on('back') })]),
    ];
    let live = empty;
    for (const step of steps) {
      live = simulate(step, live, plan(step, live));
      expect(renderPlan(plan(step, live))).toBe('nothing to do');
    }
    live = simulate(project([]), live, planRemove(live, { volumes: true }));
    expect(live).toEqual(empty);
  });

  test('is pure: the same inputs give the same plan, and the inputs are not touched', () => {
    const live = upped(app);
    const frozen = JSON.stringify(live);
    const changed = project([app.services.db!, { ...app.services.api!, user: 'node' }], { volumes: [volume('data')] });
    expect(plan(changed, live)).toEqual(plan(changed, live));
    expect(JSON.stringify(live)).toBe(frozen);
  });

  test('a depends_on cycle is refused, naming the cycle', () => {
    const cyclic = project([service('web', { dependsOn: needs('api') }), service('api', { dependsOn: needs('web') })]);
    expect(() => plan(cyclic, empty)).toThrowError(
      expect.objectContaining({ code: 'DEPENDENCY_CYCLE', message: 'dependency cycle in depends_on: api -> web -> api' }),
    );
  });

  test('external networks and volumes are used but never created', () => {
    const p = project([service('a', { networks: on('shared'), volumes: [{ type: 'volume', source: 'cache', target: '/c', readOnly: false }] })], {
      networks: [network('shared', { external: true })],
      volumes: [volume('cache', { external: true })],
    });
    expect(renderPlan(plan(p, empty))).toMatchInlineSnapshot(`
      "create-netns   netns:a        new service
      attach-veth    veth:a/shared  new service  (after create-netns:a)
      start-service  service:a      new service  (after attach-veth:a/shared)"
    `);
  });
});

describe('planRemove(observed, {volumes})', () => {
  const variants = [
    { volumes: false, check: (out: string) => expect(out).toMatchInlineSnapshot(`
      "stop-service    service:web       stack down
      stop-service    service:api       stack down  (after stop-service:web)
      stop-service    service:db        stack down  (after stop-service:api)
      detach-veth     veth:api/default  stack down  (after stop-service:api)
      detach-veth     veth:db/default   stack down  (after stop-service:db)
      detach-veth     veth:web/default  stack down  (after stop-service:web)
      remove-netns    netns:api         stack down  (after detach-veth:api/default)
      remove-netns    netns:db          stack down  (after detach-veth:db/default)
      remove-netns    netns:web         stack down  (after detach-veth:web/default)
      remove-service  service:api       stack down  (after stop-service:api)
      remove-service  service:db        stack down  (after stop-service:db)
      remove-service  service:web       stack down  (after stop-service:web)
      remove-network  network:default   stack down  (after detach-veth:api/default, detach-veth:db/default, detach-veth:web/default)"
    `) },
    { volumes: true, check: (out: string) => expect(out).toMatchInlineSnapshot(`
      "stop-service    service:web       stack down
      stop-service    service:api       stack down  (after stop-service:web)
      stop-service    service:db        stack down  (after stop-service:api)
      detach-veth     veth:api/default  stack down  (after stop-service:api)
      detach-veth     veth:db/default   stack down  (after stop-service:db)
      detach-veth     veth:web/default  stack down  (after stop-service:web)
      remove-netns    netns:api         stack down  (after detach-veth:api/default)
      remove-netns    netns:db          stack down  (after detach-veth:db/default)
      remove-netns    netns:web         stack down  (after detach-veth:web/default)
      remove-service  service:api       stack down  (after stop-service:api)
      remove-service  service:db        stack down  (after stop-service:db)
      remove-service  service:web       stack down  (after stop-service:web)
      remove-network  network:default   stack down  (after detach-veth:api/default, detach-veth:db/default, detach-veth:web/default)
      remove-volume   volume:data       stack down -v  [destroys data]  (after remove-service:api, remove-service:db, remove-service:web)
      remove-volume   volume:web-anon   stack down -v  [destroys data]  (after remove-service:api, remove-service:db, remove-service:web)"
    `) },
  ];
  for (const { volumes, check } of variants) test(`volumes: ${volumes}`, () => {
    const live = copy(upped(app));
    live.volumes['web-anon'] = { key: 'web-anon', name: 'p_web_anon', path: '/lib/anon', present: true, owner: 'web' };
    const down = planRemove(live, { volumes });
    check(renderPlan(down));
    const after = simulate(project([]), live, down);
    expect(Object.keys(after.services)).toEqual([]);
    expect(Object.keys(after.networks)).toEqual([]);
    expect(Object.keys(after.volumes)).toEqual(volumes ? [] : ['data', 'web-anon']);
    expect(renderPlan(planRemove(after, { volumes }))).toBe('nothing to do');
  });

  test('an empty host plans nothing', () => {
    expect(renderPlan(planRemove(empty, { volumes: true }))).toBe('nothing to do');
  });

  test('a crashed half-made service (netns, no process) is taken down', () => {
    const live = copy(empty);
    live.services.web = {
      name: 'web',
      config: null,
      netns: { name: 'stk-p-web', present: true },
      veths: {},
      cgroups: [],
      process: null,
      dependsOn: [],
    };
    expect(renderPlan(planRemove(live, { volumes: false }))).toMatchInlineSnapshot(`
      "remove-netns    netns:web    stack down
      remove-service  service:web  stack down"
    `);
  });
});

describe('planDown(observed, {volumes}): the removal between the project-wide steps', () => {
  test('the supervisor stops before anything else; the run folder goes after everything', () => {
    const live = upped(project([service('db'), service('api', { dependsOn: needs('db') })]));
    const down = planDown(live, { volumes: false });
    const removal = planRemove(live, { volumes: false });
    expect(down.operations[0]).toMatchObject({ kind: 'stop-supervisor', dependsOn: [] });
    expect(down.operations.at(-1)).toMatchObject({ kind: 'remove-project', resource: 'project:p', sweepFirewall: false });
    expect(down.operations.slice(1, -1).map((op) => op.id)).toEqual(removal.operations.map((op) => op.id));
    // Every removal waits for the supervisor's stop; the last step waits for every removal.
    const after = (id: string): Set<string> => {
      const seen = new Set<string>();
      const visit = (x: string): void => void down.operations.find((op) => op.id === x)?.dependsOn.forEach((d) => seen.has(d) || (seen.add(d), visit(d)));
      visit(id);
      return seen;
    };
    for (const op of removal.operations) expect(after(op.id)).toContain('stop-supervisor');
    expect(after('remove-project')).toEqual(new Set(['stop-supervisor', ...removal.operations.map((op) => op.id)]));
  });

  test('with no service running (after `stack stop`), every removal still waits for the supervisor\'s stop', () => {
    const live = upped(project([service('db'), service('api', { dependsOn: needs('db') })]));
    for (const s of Object.values(live.services)) (s as { process: unknown }).process = null;
    const down = planDown(live, { volumes: false });
    expect(down.operations.filter((op) => op.kind === 'stop-service')).toEqual([]);
    const removals = down.operations.filter((op) => op.kind !== 'stop-supervisor' && op.kind !== 'remove-project');
    expect(removals.map((op) => op.kind)).toEqual(expect.arrayContaining(['detach-veth', 'remove-netns', 'remove-service']));
    const after = (id: string): Set<string> => {
      const seen = new Set<string>();
      const visit = (x: string): void => void down.operations.find((op) => op.id === x)?.dependsOn.forEach((d) => seen.has(d) || (seen.add(d), visit(d)));
      visit(id);
      return seen;
    };
    for (const op of removals) expect(after(op.id), op.id).toContain('stop-supervisor');
  });

  test('every veth is detached once every service has stopped, so the executor batches the deletes', () => {
    const live = upped(project([service('db'), service('api', { dependsOn: needs('db') }), service('web')]));
    const down = planDown(live, { volumes: false });
    const stops = down.operations.filter((op) => op.kind === 'stop-service').map((op) => op.id);
    const detaches = down.operations.filter((op) => op.kind === 'detach-veth');
    expect(stops).toHaveLength(3);
    expect(detaches).toHaveLength(3);
    for (const op of detaches) expect([...op.dependsOn].sort()).toEqual([...stops].sort());
  });

  test('a network goes once every service has stopped, beside the detaches (its firewall rewrite overlaps them)', () => {
    const live = upped(project([service('db'), service('api', { dependsOn: needs('db') }), service('web')]));
    const down = planDown(live, { volumes: false });
    const stops = down.operations.filter((op) => op.kind === 'stop-service').map((op) => op.id);
    const network = down.operations.find((op) => op.kind === 'remove-network');
    expect(network).toBeDefined();
    expect([...network!.dependsOn].sort()).toEqual([...stops].sort());
    // planRemove alone (a one-off's removal, a changed network in up) keeps the network after its detaches.
    expect(planRemove(live, { volumes: false }).operations.find((op) => op.kind === 'remove-network')?.dependsOn.every((d) => d.startsWith('detach-veth:'))).toBe(true);
  });

  test('a network whose running services all cannot act on their stop signal is unplugged beside their stops, which kill at once', () => {
    // quiet: q1 and q2, both seen unable to act on their stop signal. mixed: m (unable too) and g
    // (able: a graceful stop), so it keeps the order. m is also on quiet's network.
    const live = upped(
      project([service('q1', { networks: on('quiet') }), service('q2', { networks: on('quiet') }), service('m', { networks: on('quiet', 'mixed') }), service('g', { networks: on('mixed') })]),
    );
    const down = planDown(live, { volumes: false, cannotActOnStop: new Set(['q1', 'q2', 'm']) });
    const op = (id: string) => down.operations.find((o) => o.id === id)!;
    const stops = down.operations.filter((o) => o.kind === 'stop-service');
    expect(Object.fromEntries(stops.map((o) => [o.id, o.kind === 'stop-service' && o.killAtOnce === true]))).toEqual({
      'stop-service:q1': true,
      'stop-service:q2': true,
      'stop-service:m': true,
      'stop-service:g': false,
    });
    // m is on mixed too: quiet is still all killed at once, mixed is not.
    for (const id of ['detach-veth:q1/quiet', 'detach-veth:q2/quiet', 'detach-veth:m/quiet', 'remove-network:quiet']) expect(op(id).dependsOn, id).toEqual(['stop-supervisor']);
    const allStops = stops.map((o) => o.id).sort();
    for (const id of ['detach-veth:m/mixed', 'detach-veth:g/mixed', 'remove-network:mixed']) expect([...op(id).dependsOn].sort(), id).toEqual(expect.arrayContaining(allStops));
    // The netns of a service unplugged early still goes once it has stopped and its veths are gone.
    expect(op('remove-netns:q1').dependsOn).toEqual(expect.arrayContaining(['stop-service:q1', 'detach-veth:q1/quiet']));
    // With a service of quiet's left out of the set, nothing moves; only the set's stops kill at once.
    const plain = planDown(live, { volumes: false, cannotActOnStop: new Set(['q1']) });
    expect(plain.operations.find((o) => o.id === 'remove-network:quiet')!.dependsOn).toEqual(expect.arrayContaining(allStops));
    expect(plain.operations.filter((o) => o.kind === 'stop-service' && o.killAtOnce === true).map((o) => o.id)).toEqual(['stop-service:q1']);
  });

  test('a depends_on chain of services that cannot act on their signal is killed all at once; one whose dependent can act waits for it, signalled', () => {
    const chain = upped(project([service('a'), service('b', { dependsOn: needs('a') }), service('c', { dependsOn: needs('b') })]));
    const all = planDown(chain, { volumes: false, cannotActOnStop: new Set(['a', 'b', 'c']) });
    for (const o of all.operations.filter((x) => x.kind === 'stop-service')) expect(o, o.id).toMatchObject({ killAtOnce: true, dependsOn: ['stop-supervisor'] });
    expect(all.operations.find((o) => o.id === 'remove-network:default')!.dependsOn).toEqual(['stop-supervisor']);
    // c can act on its signal: b and a wait for its stop (they keep the reverse order), nothing is killed at once, the network waits.
    const graceful = planDown(chain, { volumes: false, cannotActOnStop: new Set(['a', 'b']) });
    const stop = (s: string) => graceful.operations.find((o) => o.id === `stop-service:${s}`)!;
    expect(stop('b')).toMatchObject({ dependsOn: ['stop-service:c'] });
    expect(stop('a')).toMatchObject({ dependsOn: ['stop-service:b'] });
    for (const s of ['a', 'b', 'c']) expect((stop(s) as { killAtOnce?: boolean }).killAtOnce, s).toBeUndefined();
    expect(graceful.operations.find((o) => o.id === 'remove-network:default')!.dependsOn).toEqual(expect.arrayContaining(['stop-service:a', 'stop-service:b', 'stop-service:c']));
  });

  test('a graceful service still waits for every dependent, when those between are killed at once together', () => {
    // web depends on api, api on db. api and web cannot act on their signal: killed at once,
    // together. db can: its stop waits for both (it waited for web through api's stop before).
    const live = upped(project([service('db'), service('api', { dependsOn: needs('db') }), service('web', { dependsOn: needs('api') })]));
    const down = planDown(live, { volumes: false, cannotActOnStop: new Set(['api', 'web']) });
    const stop = (s: string) => down.operations.find((o) => o.id === `stop-service:${s}`)!;
    expect(stop('web')).toMatchObject({ killAtOnce: true, dependsOn: ['stop-supervisor'] });
    expect(stop('api')).toMatchObject({ killAtOnce: true, dependsOn: ['stop-supervisor'] });
    expect((stop('db') as { killAtOnce?: boolean }).killAtOnce).toBeUndefined();
    expect([...stop('db').dependsOn].sort()).toEqual(['stop-service:api', 'stop-service:web']);
  });

  test('a service sharing another\'s namespace (network_mode: service:) that can act on its signal keeps every network until the stops', () => {
    // Without its depends_on on web (compose adds one; the rule does not rely on it): web's stop
    // then waits for no stop, and only the namespace it shares says the network is side's too.
    const live = upped(project([service('web'), service('side', { networkMode: { kind: 'service', service: 'web' }, networks: {} })]));
    const down = planDown(live, { volumes: false, cannotActOnStop: new Set(['web']) });
    expect(down.operations.find((o) => o.id === 'stop-service:web')).toMatchObject({ killAtOnce: true });
    expect(down.operations.find((o) => o.id === 'remove-network:default')!.dependsOn).toEqual(expect.arrayContaining(['stop-service:web', 'stop-service:side']));
    expect(down.operations.find((o) => o.id === 'detach-veth:web/default')!.dependsOn).toContain('stop-service:side');
    // Both unable: unplugged at once.
    const both = planDown(live, { volumes: false, cannotActOnStop: new Set(['web', 'side']) });
    expect(both.operations.find((o) => o.id === 'remove-network:default')!.dependsOn).toEqual(['stop-supervisor']);
  });

  test('an empty host: only the project-wide steps (a stray supervisor, a left run folder)', () => {
    expect(renderPlan(planDown(empty, { volumes: true }))).toMatchInlineSnapshot(`
      "stop-supervisor  supervisor  stack down
      remove-project   project:p   stack down  (after stop-supervisor)"
    `);
  });

  test('nothing recorded and nothing in the run folder but its lock: nothing to do', () => {
    expect(planDown(empty, { volumes: true, runFiles: false }).operations).toEqual([]);
    // A supervisor's files without any record (a crashed up) still get the project-wide steps.
    expect(planDown(empty, { volumes: true, runFiles: true }).operations.map((op) => op.kind)).toEqual(['stop-supervisor', 'remove-project']);
    // Records are enough: runFiles only decides when there is nothing to remove.
    const live = upped(project([service('db')]));
    expect(planDown(live, { volumes: false, runFiles: false }).operations[0]).toMatchObject({ kind: 'stop-supervisor' });
  });
});
