import { describe, expect, test } from 'vitest';
import { CycleError, toposort } from '../../../src/planner/toposort.js';

const graph = (edges: Record<string, string[]>) => (n: string) => edges[n] ?? [];

describe('toposort', () => {
  test('dependencies first; ties keep the input order', () => {
    expect(toposort(['web', 'api', 'db', 'cache'], graph({ web: ['api'], api: ['db', 'cache'] }))).toEqual([
      'db',
      'cache',
      'api',
      'web',
    ]);
  });

  test('independent nodes keep the input order', () => {
    expect(toposort(['c', 'a', 'b'], graph({}))).toEqual(['c', 'a', 'b']);
  });

  test('dependencies outside the node set are ignored', () => {
    expect(toposort(['web'], graph({ web: ['gone'] }))).toEqual(['web']);
  });

  test.each([
    [{ web: ['api'], api: ['web'] }, ['web', 'api'], 'web -> api -> web'],
    [{ a: ['a'] }, ['a'], 'a -> a'],
    [{ a: ['b'], b: ['c'], c: ['b'], d: [] }, ['d', 'a', 'b', 'c'], 'b -> c -> b'],
  ])('%j: the cycle is named', (edges, nodes, cycle) => {
    let error: unknown;
    try {
      toposort(nodes, graph(edges), 'depends_on', 'break it');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CycleError);
    expect((error as CycleError).code).toBe('DEPENDENCY_CYCLE');
    expect((error as CycleError).message).toBe(`dependency cycle in depends_on: ${cycle}`);
    expect((error as CycleError).hint).toBe('break it');
  });
});
