// Ctrl-C of a foreground `up` applies only the stop-service operations of the down plan, in
// its reverse-dependency order; the command line's environment turns into the executor's.
import { describe, expect, it } from 'vitest';
import { planDown, renderPlan } from '../../../src/planner/index.js';
import type { LiveService, LiveState } from '../../../src/state/live.js';
import { stopOnly } from '../../../src/executor/stop-plan.js';
import { lateDependencies, teardownStops } from '../../../src/executor/apply.js';
import { executorEnv, timeoutMs } from '../../../src/cli/commands/executor-env.js';
import type { CommandContext } from '../../../src/cli/main.js';
import type { SupervisorControl } from '../../../src/executor/supervisor.js';

function service(name: string, dependsOn: string[]): LiveService {
  return {
    name,
    config: { hash: 'h', fields: {} },
    netns: { name: `stk-p-${name}`, present: true },
    veths: { default: { network: 'default', host: { name: `stkv${name}`, present: true }, peer: 'eth0', attachHash: 'x' } },
    cgroups: [],
    process: { pid: 10, startTime: 1, alive: true },
    dependsOn,
  };
}

/** A project `p` with these services on its default network. */
function liveOf(services: Record<string, LiveService>): LiveState {
  return {
    project: 'p',
    services,
    networks: { default: { key: 'default', config: { hash: 'n', fields: {} }, bridge: { name: 'stkb1', present: true } } },
    volumes: {},
    warnings: [],
  };
}

describe('stopOnly', () => {
  it('keeps the stops of the down plan, dependents first, and nothing else', () => {
    const live = liveOf({ api: service('api', ['db']), db: service('db', []) });
    expect(renderPlan(stopOnly(planDown(live, { volumes: false })))).toMatchInlineSnapshot(`
      "stop-supervisor  supervisor   Ctrl-C
      stop-service     service:api  Ctrl-C  (after stop-supervisor)
      stop-service     service:db   Ctrl-C  (after stop-service:api)"
    `);
  });
});

describe('stopOnly, keeping some', () => {
  it("a stop whose dependents were all left out (a one-off's) goes after the supervisor's stop", () => {
    const live = liveOf({ db: service('db', []), job: { ...service('job', ['db']), oneOff: 'db' }, web: service('web', []) });
    const notOneOffs = (op: { kind: string; id: string }): boolean => op.id !== 'stop-service:job';
    expect(renderPlan(stopOnly(planDown(live, { volumes: false }), 'Ctrl-C', notOneOffs))).toMatchInlineSnapshot(`
      "stop-supervisor  supervisor   Ctrl-C
      stop-service     service:web  Ctrl-C  (after stop-supervisor)
      stop-service     service:db   Ctrl-C  (after stop-supervisor)"
    `);
    // Without the supervisor's stop (a Ctrl-C of `up SERVICE`), such a stop depends on nothing.
    const withoutSupervisor = stopOnly(planDown(live, { volumes: false }), 'Ctrl-C', (op) => notOneOffs(op) && op.kind !== 'stop-supervisor');
    expect(withoutSupervisor.operations.map((op) => [op.id, op.dependsOn])).toEqual([
      ['stop-service:web', []],
      ['stop-service:db', []],
    ]);
  });
});

describe('teardownStops', () => {
  const live = liveOf({ api: service('api', ['db']), db: service('db', []), web: service('web', []) });

  it('in a down, every stop (api too, which db waits for)', () => {
    expect([...teardownStops(planDown(live, { volumes: false }))].sort()).toEqual(['stop-service:api', 'stop-service:db', 'stop-service:web']);
  });

  it('none in a plan that is no teardown (the stops of a Ctrl-C)', () => {
    expect([...teardownStops(stopOnly(planDown(live, { volumes: false })))]).toEqual([]);
  });
});

describe('lateDependencies', () => {
  const live = liveOf({ api: service('api', ['db']), db: service('db', []) });
  /** The late dependencies of `plan`, as `op <- dependency` lines. */
  const late = (plan: ReturnType<typeof planDown>): string[] => {
    const isLate = lateDependencies(plan);
    const byId = new Map(plan.operations.map((op) => [op.id, op]));
    return plan.operations.flatMap((op) => op.dependsOn.filter((d) => isLate(op, byId.get(d)!)).map((d) => `${op.id} <- ${d}`)).sort();
  };

  it("in a down: a stop's on its dependents' stops, and the veths' and the network's removals on the stops", () => {
    expect(late(planDown(live, { volumes: false }))).toEqual([
      'detach-veth:api/default <- stop-service:api',
      'detach-veth:api/default <- stop-service:db',
      'detach-veth:db/default <- stop-service:api',
      'detach-veth:db/default <- stop-service:db',
      'remove-network:default <- stop-service:api',
      'remove-network:default <- stop-service:db',
      'stop-service:db <- stop-service:api',
    ]);
  });

  it("in the stops of a Ctrl-C (no teardown): a stop's on its dependents' stops only", () => {
    expect(late(stopOnly(planDown(live, { volumes: false })))).toEqual(['stop-service:db <- stop-service:api']);
  });
});

describe('executorEnv', () => {
  const supervisor: SupervisorControl = { ensure: async () => undefined, stop: async () => undefined, waitHealthy: async () => undefined };
  const ctx = (env: Record<string, string | undefined>) => ({ env }) as unknown as CommandContext;

  it('reads the state root, the sudo invoker and ip_forward; STACK_TEST_CRASH_AT reaches nothing', () => {
    const env = executorEnv(ctx({ STACK_ROOT: '/x', SUDO_UID: '1000', SUDO_GID: '100', STACK_IP_FORWARD: 'leave', STACK_TEST_CRASH_AT: 'start-service:a' }), supervisor, 0);
    expect(env).toMatchObject({ roots: { run: '/x/run', lib: '/x/lib' }, invoker: { uid: 1000, gid: 100 }, ipForward: 'leave', stopTimeoutMs: 0 });
    expect(env).not.toHaveProperty('crashAt');
    expect(executorEnv(ctx({}), supervisor)).toMatchObject({ roots: { run: '/run/stack', lib: '/var/lib/stack' }, ipForward: 'enable' });
    expect(executorEnv(ctx({ SUDO_UID: 'x', SUDO_GID: '1' }), supervisor).invoker).toBeUndefined();
  });

  it('refuses what it cannot read', () => {
    expect(() => executorEnv(ctx({ STACK_IP_FORWARD: 'maybe' }), supervisor)).toThrow(/STACK_IP_FORWARD=maybe/);
    expect(() => timeoutMs('ten', 'down')).toThrow(/--timeout ten/);
    expect(timeoutMs('1.5', 'down')).toBe(1500);
    expect(timeoutMs(undefined, 'down')).toBeUndefined();
  });
});
