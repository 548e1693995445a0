import { describe, expect, test } from 'vitest';
import { CycleError, insertByRank, toposort } from '../../../src/planner/toposort.js';

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

  test('on random graphs, the order of a sort of the ready nodes at every step (the plain definition)', () => {
    let seed = 7;
    const random = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const reference = (nodes: string[], depsOf: (n: string) => string[]): string[] => {
      const out: string[] = [];
      const left = new Set(nodes);
      while (left.size > 0) {
        const ready = nodes.filter((n) => left.has(n) && depsOf(n).every((d) => !left.has(d)));
        out.push(ready[0]!);
        left.delete(ready[0]!);
      }
      return out;
    };
    for (let round = 0; round < 200; round++) {
      const n = 1 + random(60);
      const nodes = Array.from({ length: n }, (_, i) => `n${i}`);
      // Edges only towards a node of a smaller number: acyclic; the input order shuffled.
      const edges: Record<string, string[]> = {};
      for (let i = 1; i < n; i++) edges[`n${i}`] = Array.from({ length: random(4) }, () => `n${random(i)}`);
      for (let i = n - 1; i > 0; i--) {
        const j = random(i + 1);
        [nodes[i], nodes[j]] = [nodes[j]!, nodes[i]!];
      }
      expect(toposort(nodes, graph(edges))).toEqual(reference(nodes, graph(edges)));
    }
  });

  test('insertByRank keeps a list in rank order, an item after those of its rank', () => {
    const list: [string, number][] = [];
    const rank = (x: [string, number]) => x[1];
    for (const item of [['a', 3], ['b', 1], ['c', 3], ['d', 0], ['e', 9], ['f', 1]] as [string, number][]) insertByRank(list, item, rank);
    expect(list.map(([name]) => name).join('')).toBe('dbface');
  });
});
