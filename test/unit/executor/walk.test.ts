import { describe, expect, test } from 'vitest';
import { AggregateStackError, UserError } from '../../../src/errors.js';
import { RecordingSink } from '../../../src/executor/events.js';
import { throwIfFailed, walk, type Handlers } from '../../../src/executor/walk.js';
import type { Operation, OperationKind, Plan } from '../../../src/planner/plan.js';
import { plan as makePlan } from '../../../src/planner/reconcile.js';
import { emptyLiveState } from '../../../src/state/live.js';
import { needs, project, service } from '../planner/fixtures.js';

/** A plan of start-service operations: `graph` maps each service to what it waits for. */
function starts(graph: Record<string, string[]>): Plan {
  return {
    project: 'p',
    operations: Object.entries(graph).map(([name, deps]) => ({
      id: `start-service:${name}`,
      kind: 'start-service',
      service: name,
      resource: `service:${name}`,
      cause: 'new service',
      dependsOn: deps.map((d) => `start-service:${d}`),
      stamp: { hash: 'h', fields: {} },
    })),
  };
}

const ALL_KINDS: OperationKind[] = [
  'create-network', 'remove-network', 'create-volume', 'remove-volume', 'create-netns', 'remove-netns',
  'attach-veth', 'detach-veth', 'start-service', 'stop-service', 'remove-service',
];

/** Handlers that log each operation's start and end, failing those in `fail`. */
function recording(fail: Record<string, Error> = {}): { handlers: Handlers; log: string[] } {
  const log: string[] = [];
  const handler = async (op: Operation): Promise<void> => {
    log.push(`start ${op.id}`);
    await Promise.resolve();
    const error = fail[op.id];
    log.push(`${error ? 'fail' : 'end'} ${op.id}`);
    if (error) throw error;
  };
  return { handlers: Object.fromEntries(ALL_KINDS.map((k) => [k, handler])) as Handlers, log };
}

/** A promise the test resolves by hand. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('walk', () => {
  test('starts the steps that become ready together in plan order, a network\'s removal first (its bridge joins the veths\' batch)', async () => {
    const op = (id: string, kind: OperationKind, dependsOn: string[]): Operation =>
      ({ id, kind, resource: id, cause: 'test', dependsOn, service: 's', network: 'n' }) as unknown as Operation;
    const plan: Plan = {
      project: 'p',
      operations: [
        op('stop-service:s', 'stop-service', []),
        op('detach-veth:s/n', 'detach-veth', ['stop-service:s']),
        op('remove-service:s', 'remove-service', ['stop-service:s']),
        op('remove-network:n', 'remove-network', ['stop-service:s']),
      ],
    };
    const { handlers, log } = recording();
    await walk(plan, handlers, { concurrency: 8 });
    expect(log.filter((l) => l.startsWith('start ')).map((l) => l.slice(6))).toEqual(['stop-service:s', 'remove-network:n', 'detach-veth:s/n', 'remove-service:s']);
  });

  test('runs each operation once, each after its dependencies are done', async () => {
    const plan = makePlan(project([service('db'), service('api', { dependsOn: needs('db') }), service('web', { dependsOn: needs('api') })]), emptyLiveState('p'));
    const { handlers, log } = recording();
    const result = await walk(plan, handlers, { concurrency: 3 });
    expect(result.done).toHaveLength(plan.operations.length);
    expect(result.failed).toEqual([]);
    for (const op of plan.operations) {
      expect(log.filter((l) => l === `start ${op.id}`)).toHaveLength(1);
      for (const dep of op.dependsOn) expect(log.indexOf(`end ${dep}`)).toBeLessThan(log.indexOf(`start ${op.id}`));
    }
  });

  test('of the operations ready at once, the one earlier in the plan goes first', async () => {
    // b becomes ready after c was: one at a time, b still runs before c, and e (ready with d) after it.
    const plan = starts({ a: [], b: ['a'], c: [], d: ['c'], e: ['b'] });
    const result = await walk(plan, recording().handlers, { concurrency: 1 });
    expect(result.done).toEqual(['a', 'b', 'c', 'd', 'e'].map((n) => `start-service:${n}`));
  });

  test('never runs more than the concurrency limit at once, and reaches it', async () => {
    const plan = starts(Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`s${i}`, []])));
    const gates = new Map(plan.operations.map((op) => [op.id, deferred()]));
    let inFlight = 0;
    let most = 0;
    const handlers: Handlers = {
      'start-service': async (op) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await gates.get(op.id)?.promise;
        inFlight--;
      },
    };
    const walking = walk(plan, handlers, { concurrency: 3 });
    for (const op of plan.operations) {
      await new Promise((r) => setImmediate(r));
      expect(inFlight).toBeLessThanOrEqual(3);
      gates.get(op.id)?.resolve();
    }
    const result = await walking;
    expect(most).toBe(3);
    expect(result.done).toHaveLength(10);
  });

  test('a failure stops its dependents; independent operations carry on; all is reported as events', async () => {
    const plan = starts({ a: [], b: ['a'], c: ['b'], x: [], y: ['x'] });
    const boom = new UserError('NOPE', 'a cannot start');
    const { handlers } = recording({ 'start-service:a': boom });
    const sink = new RecordingSink();
    let t = 0;
    const result = await walk(plan, handlers, { sink, concurrency: 1, now: () => t++ });
    expect(result.done).toEqual(['start-service:x', 'start-service:y']);
    expect(result.failed).toEqual([{ op: plan.operations[0], error: boom }]);
    expect(result.skipped).toEqual(['start-service:b', 'start-service:c']);
    expect(sink.events.map((e) => ('id' in e ? `${e.type} ${e.id}` : e.type))).toEqual([
      'plan-started',
      'operation-started start-service:a',
      'operation-failed start-service:a',
      'operation-skipped start-service:b',
      'operation-skipped start-service:c',
      'operation-started start-service:x',
      'operation-done start-service:x',
      'operation-started start-service:y',
      'operation-done start-service:y',
      'plan-done',
    ]);
    expect(sink.ofType('operation-skipped').map((e) => e.blockedBy)).toEqual(['start-service:a', 'start-service:a']);
    expect(sink.ofType('operation-failed')[0]?.error).toMatchObject({ code: 'NOPE', message: 'a cannot start' });
    expect(sink.ofType('plan-done')).toEqual([{ type: 'plan-done', project: 'p', done: 2, failed: 1, skipped: 2, durationMs: 7 }]);
  });

  test('every failure is reported; throwIfFailed throws them all together', async () => {
    const plan = starts({ a: [], b: [], c: [] });
    const { handlers } = recording({ 'start-service:a': new Error('a broke'), 'start-service:c': new Error('c broke') });
    const result = await walk(plan, handlers);
    expect(result.failed.map((f) => f.op.id)).toEqual(['start-service:a', 'start-service:c']);
    expect(() => throwIfFailed(result)).toThrowError(AggregateStackError);
    expect(() => throwIfFailed(result)).toThrowError('2 operations failed:\n  a broke\n  c broke');
    expect(() => throwIfFailed({ done: [], failed: [result.failed[0]!], skipped: [] })).toThrowError('a broke');
    expect(() => throwIfFailed({ done: ['x'], failed: [], skipped: [] })).not.toThrow();
  });

  test('cancelling stops starting new operations; what was not started is skipped', async () => {
    const plan = starts({ a: [], b: ['a'], c: ['b'] });
    const controller = new AbortController();
    const handlers: Handlers = {
      'start-service': async (op) => {
        if (op.service === 'a') controller.abort();
      },
    };
    const sink = new RecordingSink();
    const result = await walk(plan, handlers, { signal: controller.signal, sink });
    expect(result.done).toEqual(['start-service:a']);
    expect(result.skipped).toEqual(['start-service:b', 'start-service:c']);
    expect(sink.ofType('operation-skipped').every((e) => e.blockedBy === 'cancelled')).toBe(true);
  });

  test('a plan it cannot run whole is refused before anything runs', async () => {
    const { handlers, log } = recording();
    const { 'start-service': _, ...withoutStart } = handlers;
    const plan = makePlan(project([service('web')]), emptyLiveState('p'));
    await expect(walk(plan, withoutStart)).rejects.toThrowError('no handler for start-service');
    await expect(walk(starts({ a: ['b'], b: ['a'] }), handlers)).rejects.toThrowError(
      'dependency cycle in the plan: start-service:a -> start-service:b -> start-service:a',
    );
    await expect(walk(starts({ a: ['ghost'] }), handlers)).rejects.toThrowError('depends on start-service:ghost, which is not in the plan');
    expect(log).toEqual([]);
  });

  test('an empty plan completes at once', async () => {
    const sink = new RecordingSink();
    expect(await walk({ project: 'p', operations: [] }, {}, { sink })).toEqual({ done: [], failed: [], skipped: [] });
    expect(sink.events.map((e) => e.type)).toEqual(['plan-started', 'plan-done']);
  });

  describe('late dependencies (a dependent begins, and waits for them itself)', () => {
    const lateStarts = (op: Operation, dep: Operation) => op.kind === 'start-service' && dep.kind === 'start-service';
    /**
     * Handlers that log "prepared", say ready (once their gate in `readyGates` opens), wait for
     * their late dependencies, then end (once their gate in `gates` opens), or fail.
     */
    function twoPhase(fail: Record<string, Error> = {}, gates: Record<string, Promise<void>> = {}, readyGates: Record<string, Promise<void>> = {}): { handlers: Handlers; log: string[] } {
      const log: string[] = [];
      const handler = async (op: Operation, { after, ready }: { after: () => Promise<void>; ready: () => void }): Promise<void> => {
        log.push(`prepared ${op.id}`);
        await readyGates[op.id];
        ready();
        try {
          await after();
        } catch (e) {
          log.push(`undone ${op.id}`);
          throw e;
        }
        await gates[op.id];
        if (fail[op.id]) throw fail[op.id];
        log.push(`end ${op.id}`);
      };
      return { handlers: { 'start-service': handler as Handlers['start-service'] }, log };
    }
    const tick = () => new Promise((r) => setTimeout(r, 5));

    test('an operation waiting aside holds no slot: others begin meanwhile, and it takes one again to go on, within the limit', async () => {
      const log: string[] = [];
      const wait = deferred();
      const ends: Record<string, ReturnType<typeof deferred>> = { b: deferred(), c: deferred() };
      const handler = async (op: Operation, walkContext: { aside: <T>(w: Promise<T>) => Promise<T> }): Promise<void> => {
        const name = op.id.split(':')[1]!;
        log.push(`begin ${name}`);
        if (name === 'a') await walkContext.aside(wait.promise);
        else await ends[name]!.promise;
        log.push(`end ${name}`);
      };
      const walking = walk(starts({ a: [], b: [], c: [] }), { 'start-service': handler as Handlers['start-service'] }, { concurrency: 2 });
      await tick();
      // a waits aside: b and c hold the two slots.
      expect(log).toEqual(['begin a', 'begin b', 'begin c']);
      wait.resolve();
      await tick();
      expect(log).toEqual(['begin a', 'begin b', 'begin c']); // no slot free: a waits for one
      ends.b!.resolve();
      await tick();
      expect(log).toEqual(['begin a', 'begin b', 'begin c', 'end b', 'end a']);
      ends.c!.resolve();
      expect((await walking).done).toEqual(['start-service:b', 'start-service:a', 'start-service:c']);
    });

    test('a dependent begins once its late dependency is ready (prepared), prepares while that one ends, and ends after it; waiting, it holds no slot', async () => {
      const readyA = deferred();
      const endA = deferred();
      const { handlers, log } = twoPhase({}, { 'start-service:a': endA.promise }, { 'start-service:a': readyA.promise });
      // Two slots: a holds one; b, then c, take the other in turn, each giving it back to wait.
      const walking = walk(starts({ c: ['b'], b: ['a'], a: [] }), handlers, { concurrency: 2, late: lateStarts });
      await tick();
      expect(log).toEqual(['prepared start-service:a']); // b waits for a to be prepared
      readyA.resolve();
      await tick();
      expect(log).toEqual(['prepared start-service:a', 'prepared start-service:b', 'prepared start-service:c']);
      endA.resolve();
      const result = await walking;
      expect(log.slice(3)).toEqual(['end start-service:a', 'end start-service:b', 'end start-service:c']);
      expect(result).toEqual({ done: ['start-service:a', 'start-service:b', 'start-service:c'], failed: [], skipped: [] });
    });

    test('a late dependency that fails: the one waiting for it gives up (undoing what it did) and is skipped, as are its dependents', async () => {
      const boom = new UserError('BOOM', 'a broke');
      const endA = deferred();
      const { handlers, log } = twoPhase({ 'start-service:a': boom }, { 'start-service:a': endA.promise });
      const sink = new RecordingSink();
      const walking = walk(starts({ a: [], b: ['a'], c: ['b'], d: [] }), handlers, { late: lateStarts, sink });
      await tick(); // b and c prepared, waiting for a
      endA.resolve();
      const result = await walking;
      expect(result.failed).toEqual([{ op: expect.objectContaining({ id: 'start-service:a' }), error: boom }]);
      expect([...result.skipped].sort()).toEqual(['start-service:b', 'start-service:c']);
      expect(result.done).toEqual(['start-service:d']);
      expect(log.filter((l) => l.startsWith('undone')).sort()).toEqual(['undone start-service:b', 'undone start-service:c']);
      const skips = sink.events.filter((e) => e.type === 'operation-skipped').map((e) => [(e as { id: string }).id, (e as { blockedBy: string }).blockedBy]);
      expect(skips.sort()).toEqual([['start-service:b', 'start-service:a'], ['start-service:c', 'start-service:a']]);
      // Given up, not failed: a's is the one failure reported.
      expect(sink.events.filter((e) => e.type === 'operation-failed').map((e) => (e as { id: string }).id)).toEqual(['start-service:a']);
      expect(() => throwIfFailed(result)).toThrow(boom);
    });

    test('the ones a dependency lets go on go on within the concurrency limit', async () => {
      const endA = deferred();
      let now = 0;
      let most = 0;
      const handler = async (op: Operation, { after, ready }: { after: () => Promise<void>; ready: () => void }): Promise<void> => {
        ready();
        if (op.id === 'start-service:a') return endA.promise;
        await after();
        most = Math.max(most, ++now);
        await tick();
        now--;
      };
      const graph = { a: [], b1: ['a'], b2: ['a'], b3: ['a'], b4: ['a'] };
      const walking = walk(starts(graph), { 'start-service': handler as Handlers['start-service'] }, { concurrency: 2, late: lateStarts });
      await tick();
      endA.resolve();
      const result = await walking;
      expect(result.done).toHaveLength(5);
      expect(most).toBe(2);
    });

    test('one let begin by its late dependency\'s ready, and blocked by that one\'s failure before it began: skipped, never begun', async () => {
      const boom = new UserError('BOOM', 'a broke');
      const { handlers, log } = twoPhase({ 'start-service:a': boom });
      const result = await walk(starts({ a: [], b: ['a'] }), handlers, { late: lateStarts });
      expect(result.skipped).toEqual(['start-service:b']);
      expect(log).toEqual(['prepared start-service:a']);
    });

    test('cancelled while one waits for a late dependency: it gives up, and the walk ends', async () => {
      const gate = deferred();
      const controller = new AbortController();
      const { handlers, log } = twoPhase({}, { 'start-service:a': gate.promise });
      const walking = walk(starts({ a: [], b: ['a'] }), handlers, { late: lateStarts, signal: controller.signal });
      await tick();
      controller.abort();
      await tick();
      // b gives up at once, while a (running) is still under way.
      expect(log).toEqual(['prepared start-service:a', 'prepared start-service:b', 'undone start-service:b']);
      gate.resolve();
      const result = await walking;
      expect(result.done).toEqual(['start-service:a']);
      expect(result.skipped).toEqual(['start-service:b']);
      expect(log.at(-1)).toBe('end start-service:a');
    });

    test('without `late`, a dependent begins only once its dependencies are done', async () => {
      const { handlers, log } = twoPhase();
      await walk(starts({ b: ['a'], a: [] }), handlers);
      expect(log).toEqual(['prepared start-service:a', 'end start-service:a', 'prepared start-service:b', 'end start-service:b']);
    });
  });
});
