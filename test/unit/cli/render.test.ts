// Renderers decide nothing: the same events give the same lines (plain), the same rows (TTY
// view), the same JSON; log lines get a padded `name |` prefix, coloured only on a TTY.
import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import type { StackEvent } from '../../../src/executor/events.js';
import { plainLine, plainRenderer } from '../../../src/cli/render/plain.js';
import { jsonRenderer } from '../../../src/cli/render/json.js';
import { logPrefixer } from '../../../src/cli/render/log-prefix.js';
import { reduceRows } from '../../../src/cli/render/tty.js';
import type { Operation } from '../../../src/planner/plan.js';

const start: Operation = { id: 'start-service:web', kind: 'start-service', resource: 'service:web', service: 'web', cause: 'new service', dependsOn: [], stamp: { hash: 'h', fields: {} } };
const net: Operation = { id: 'create-network:default', kind: 'create-network', resource: 'network:default', network: 'default', cause: 'new network', dependsOn: [], stamp: { hash: 'h', fields: {} } };
const ref = { id: start.id, kind: start.kind, resource: start.resource, service: 'web', cause: start.cause } as const;
const events: StackEvent[] = [
  { type: 'plan-started', project: 'p', operations: [net, start] },
  { type: 'operation-started', id: net.id, kind: net.kind, resource: net.resource, cause: net.cause },
  { type: 'operation-done', id: net.id, kind: net.kind, resource: net.resource, cause: net.cause, durationMs: 12.4 },
  { type: 'operation-started', ...ref },
  { type: 'operation-failed', ...ref, durationMs: 1500, error: { name: 'UserError', message: 'service "web": program "x" not found', code: 'COMMAND_NOT_FOUND' } },
  { type: 'plan-done', project: 'p', done: 1, failed: 1, skipped: 0, durationMs: 1600 },
];

describe('renderers', () => {
  it('plain: one line per start and end', () => {
    expect(events.map((e) => plainLine(e)).filter(Boolean)).toMatchInlineSnapshot(`
      [
        "network default: Creating (new network)",
        "network default: Created in 12ms",
        "service web: Starting (new service)",
        "service web: start-service failed: service "web": program "x" not found",
        "project p: 1 done, 1 failed, 0 skipped in 1.6s",
      ]
    `);
    expect(plainLine({ type: 'plan-started', project: 'p', operations: [] })).toBe('project p: nothing to do');
    expect(plainLine({ type: 'operation-skipped', ...ref, blockedBy: 'cancelled' })).toBe('service web: start-service skipped (cancelled)');
  });

  it('tty: rows follow the events', () => {
    const rows = events.reduce(reduceRows, []);
    expect(rows.map((r) => [r.label, r.state, r.detail])).toEqual([
      ['network default', 'done', '12ms'],
      ['service web', 'failed', 'service "web": program "x" not found'],
    ]);
  });

  it("names a scaled service's replicas as ps does (worker-1, worker-2), not by their keys, in plain lines and TTY rows", () => {
    const replica = (key: string): Operation => ({ ...start, id: `start-service:${key}`, resource: `service:${key}`, service: key });
    const veth: Operation = { id: 'attach-veth:worker#2/default', kind: 'attach-veth', resource: 'veth:worker#2/default', service: 'worker#2', network: 'default', index: 0, attachHash: 'h', cause: 'new service', dependsOn: [] };
    const plan: StackEvent = { type: 'plan-started', project: 'p', operations: [replica('worker'), replica('worker#2'), veth, replica('web')] };
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const r = plainRenderer(out);
    r.emit(plan);
    for (const op of [replica('worker'), replica('worker#2'), veth, replica('web')]) r.emit({ type: 'operation-started', id: op.id, kind: op.kind, resource: op.resource, cause: op.cause });
    expect(text.trim().split('\n')).toEqual([
      'service worker-1: Starting (new service)',
      'service worker-2: Starting (new service)',
      'veth worker-2/default: Attaching (new service)',
      'service web: Starting (new service)',
    ]);
    expect(reduceRows([], plan).map((row) => row.label)).toEqual(['service worker-1', 'service worker-2', 'veth worker-2/default', 'service web']);
    // A network, volume or project named as a scaled service keeps its name.
    const others: Operation[] = [net, { ...net, id: 'create-network:worker', resource: 'network:worker', network: 'worker' }, { id: 'create-volume:worker', kind: 'create-volume', resource: 'volume:worker', volume: 'worker', cause: 'new volume', dependsOn: [] }];
    expect(reduceRows([], { type: 'plan-started', project: 'p', operations: [replica('worker'), replica('worker#2'), ...others] }).map((row) => row.label)).toEqual([
      'service worker-1',
      'service worker-2',
      'network default',
      'network worker',
      'volume worker',
    ]);
    // A plan of the second replica alone names it as ps does too.
    expect(reduceRows([], { type: 'plan-started', project: 'p', operations: [replica('worker#2')] }).map((row) => row.label)).toEqual(['service worker-2']);
  });

  it('json: each event as it is, one per line', () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const r = jsonRenderer(out);
    events.forEach((e) => r.emit(e));
    r.notice('hello');
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(lines.slice(0, -1)).toEqual(JSON.parse(JSON.stringify(events)));
    expect(lines.at(-1)).toEqual({ type: 'notice', message: 'hello' });
  });

  it('log prefixes are padded to the longest name and coloured only when asked', () => {
    const plain = logPrefixer(['api', 'worker'], false);
    expect(plain('api', 'listening')).toBe('api    | listening');
    const coloured = logPrefixer(['api', 'worker'], true);
    expect(coloured('worker', 'x')).toMatch(/^\u001b\[\d+mworker \|\u001b\[0m x$/);
    expect(coloured('api', 'x')).not.toBe(coloured('worker', 'x').replace('worker', 'api   '));
  });
});
