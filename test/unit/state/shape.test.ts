// The record shape checks: what they accept, what they keep, and how they name a problem.
import { describe, expect, test } from 'vitest';
import { array, integer, literal, nullable, object, optional, record, string } from '../../../src/state/shape.js';

const check = (shape: (v: unknown, p: string, i: string[]) => unknown, value: unknown) => {
  const issues: string[] = [];
  const out = shape(value, '', issues);
  return { out, issues };
};

describe('record shapes', () => {
  const shape = object(
    {
      kind: literal('service'),
      pid: nullable(object({ pid: integer(1) }, true)),
      list: array(string),
      map: record(object({ host: string })),
      owner: optional(string),
    },
    true,
  );

  test('a good value passes; a loose object keeps unknown keys, a strict one drops them', () => {
    const value = { kind: 'service', pid: { pid: 3, extra: 1 }, list: ['a'], map: { x: { host: 'h', stray: 2 } }, later: true };
    const { out, issues } = check(shape, value);
    expect(issues).toEqual([]);
    expect(out).toEqual({ kind: 'service', pid: { pid: 3, extra: 1 }, list: ['a'], map: { x: { host: 'h' } }, later: true });
  });

  test('a value that passes as it is comes back as itself; one a strict object must trim is a copy', () => {
    const good = { kind: 'service', pid: null, list: ['a'], map: { x: { host: 'h' } }, later: true };
    expect(check(shape, good).out).toBe(good);
    expect(shape.accepts(good)).toBe(true);
    const stray = { ...good, map: { x: { host: 'h', stray: 2 } } };
    expect(shape.accepts(stray)).toBe(false);
    const out = check(shape, stray).out as typeof stray;
    expect(out).not.toBe(stray);
    expect(out.map.x).toEqual({ host: 'h' });
    expect(stray.map.x).toEqual({ host: 'h', stray: 2 }); // the value read is left as it was
    expect(shape.accepts({ ...good, pid: { pid: 0 } })).toBe(false);
  });

  test('every problem is named by its path', () => {
    const { issues } = check(shape, { kind: 'network', pid: { pid: 0 }, list: ['a', 2], map: { x: null } });
    expect(issues).toEqual([
      'kind: expected "service", received "network"',
      'pid.pid: expected a number >= 1, received 0',
      'list.1: expected string, received number',
      'map.x: expected object, received null',
    ]);
  });

  test('a missing required field, a wrong optional one and a non-object are refused', () => {
    expect(check(object({ a: string }), {}).issues).toEqual(['a: expected string, received undefined']);
    expect(check(object({ a: optional(string) }), { a: 1 }).issues).toEqual(['a: expected string, received number']);
    expect(check(object({ a: optional(string) }), {}).out).toEqual({});
    expect(check(object({ a: string }), [1]).issues).toEqual([': expected object, received array']);
    expect(check(integer(0), 1.5).issues).toEqual([': expected integer, received number']);
  });
});
