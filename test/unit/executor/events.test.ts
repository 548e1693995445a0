import { describe, expect, test } from 'vitest';
import { KernelError, UserError } from '../../../src/errors.js';
import { fanOut, RecordingSink, refOf, summarizeError, timed } from '../../../src/executor/events.js';
import type { Operation } from '../../../src/planner/plan.js';

const op: Operation = {
  id: 'start-service:web',
  kind: 'start-service',
  service: 'web',
  resource: 'service:web',
  cause: 'new service',
  dependsOn: [],
  stamp: { hash: 'h', fields: {} },
};

/** A clock that advances 5 ms per reading. */
function steppingClock(): () => number {
  let t = 100;
  return () => (t += 5);
}

describe('timed', () => {
  test('emits started then done with the duration, and returns the result', async () => {
    const sink = new RecordingSink();
    expect(await timed(sink, op, async () => 42, steppingClock())).toBe(42);
    expect(sink.events).toEqual([
      { type: 'operation-started', id: 'start-service:web', kind: 'start-service', resource: 'service:web', service: 'web', cause: 'new service' },
      { type: 'operation-done', id: 'start-service:web', kind: 'start-service', resource: 'service:web', service: 'web', cause: 'new service', durationMs: 5 },
    ]);
  });

  test('emits failed with the error as data, and rethrows the error itself', async () => {
    const sink = new RecordingSink();
    const error = new UserError('PORT_IN_USE', 'port 8080 is in use', 'stop what listens on it');
    await expect(timed(sink, op, async () => Promise.reject(error), steppingClock())).rejects.toBe(error);
    expect(sink.ofType('operation-failed')).toEqual([
      {
        ...refOf(op),
        type: 'operation-failed',
        durationMs: 5,
        error: { name: 'UserError', message: 'port 8080 is in use', code: 'PORT_IN_USE', hint: 'stop what listens on it' },
      },
    ]);
  });
});

describe('summarizeError', () => {
  test.each([
    [new KernelError('RTM_NEWLINK stkv1 (peer eth0 in stk-p-web)', 'EEXIST', 17), { name: 'KernelError', message: 'RTM_NEWLINK stkv1 (peer eth0 in stk-p-web): EEXIST', code: 'EEXIST', call: 'RTM_NEWLINK stkv1 (peer eth0 in stk-p-web)' }],
    [new TypeError('x is undefined'), { name: 'TypeError', message: 'x is undefined' }],
    ['a string', { name: 'Error', message: 'a string' }],
  ])('%s', (error, summary) => {
    expect(summarizeError(error)).toEqual(summary);
  });
});

test('refOf leaves out the service for operations on no service', () => {
  expect(refOf({ id: 'create-network:b', kind: 'create-network', network: 'b', resource: 'network:b', cause: 'new network', dependsOn: [], stamp: { hash: 'h', fields: {} } })).toEqual({
    id: 'create-network:b',
    kind: 'create-network',
    resource: 'network:b',
    cause: 'new network',
  });
});

test('fanOut sends each event to every sink', () => {
  const a = new RecordingSink();
  const b = new RecordingSink();
  fanOut(a, b).emit({ type: 'plan-started', project: 'p', operations: [] });
  expect(a.events).toEqual(b.events);
  expect(a.events).toHaveLength(1);
});
