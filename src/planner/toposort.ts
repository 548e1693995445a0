// Dependency order for services (depends_on) and for plan operations, stable and with the
// cycle named the way a user reads it: `web -> api -> web`.
import { UserError } from '../errors.js';

/** A dependency cycle; `cycle` starts and ends with the same node. */
export class CycleError extends UserError {
  constructor(
    readonly cycle: readonly string[],
    where?: string,
    hint?: string,
  ) {
    super('DEPENDENCY_CYCLE', `dependency cycle${where ? ` in ${where}` : ''}: ${cycle.join(' -> ')}`, hint);
  }
}

/**
 * Nodes ordered so each comes after its dependencies; among nodes that are ready at the same time
 * the one earlier in `nodes` comes first, so the result is stable. `nodes` are distinct (keys of a
 * record, ids of a plan). Dependencies that are not in `nodes` are ignored. Throws CycleError
 * naming one cycle.
 */
export function toposort(
  nodes: readonly string[],
  depsOf: (node: string) => readonly string[],
  where?: string,
  hint?: string,
): string[] {
  const rank = new Map(nodes.map((n, i) => [n, i]));
  const deps = new Map(nodes.map((n) => [n, [...new Set(depsOf(n))].filter((d) => rank.has(d))]));
  const dependents = new Map<string, string[]>(nodes.map((n) => [n, []]));
  const waiting = new Map<string, number>();
  for (const [n, ds] of deps) {
    waiting.set(n, ds.length);
    for (const d of ds) dependents.get(d)?.push(n);
  }
  const rankOf = (n: string): number => rank.get(n) ?? 0;
  const ready = nodes.filter((n) => waiting.get(n) === 0); // in rank order already
  const out: string[] = [];
  while (ready.length > 0) {
    const n = ready.shift() as string;
    out.push(n);
    for (const m of dependents.get(n) ?? []) {
      const left = (waiting.get(m) ?? 0) - 1;
      waiting.set(m, left);
      if (left === 0) insertByRank(ready, m, rankOf);
    }
  }
  if (out.length < nodes.length) throw new CycleError(findCycle(nodes, deps), where, hint);
  return out;
}

/**
 * Puts `item` into `list`, kept in ascending `rankOf` order, after the items of its rank: a
 * binary search instead of a sort of the whole list at each step (a plan of 20 services has
 * ~100 operations, 20 of them ready at once: sorting at every step was quadratic).
 */
export function insertByRank<T>(list: T[], item: T, rankOf: (item: T) => number): void {
  const r = rankOf(item);
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (rankOf(list[mid] as T) <= r) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, item);
}

/** One cycle among `nodes`, found by depth-first search from the first node in order. */
function findCycle(nodes: readonly string[], deps: ReadonlyMap<string, readonly string[]>): string[] {
  const state = new Map<string, 'open' | 'closed'>();
  const path: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'closed') return undefined;
    if (state.get(n) === 'open') return [...path.slice(path.indexOf(n)), n];
    state.set(n, 'open');
    path.push(n);
    for (const d of deps.get(n) ?? []) {
      const cycle = visit(d);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(n, 'closed');
    return undefined;
  };
  for (const n of nodes) {
    const cycle = visit(n);
    if (cycle) return cycle;
  }
  return [];
}
