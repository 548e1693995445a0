// The executor's graph walker: runs a Plan with a concurrency limit, each operation once its
// dependencies are done, through one handler per kind supplied by the caller. It carries no
// decision logic: a failure stops what depends on it, everything independent carries on, and
// every failure is reported at the end.
import { traceSpan } from '../trace.js';
import { sinceStart } from '../sys/builtin.js';
import { AggregateStackError } from '../errors.js';
import type { Operation, OperationKind, OperationOf, Plan } from '../planner/plan.js';
import { insertByRank, toposort } from '../planner/toposort.js';
import { monotonic, nullSink, refOf, timed, type Clock, type EventSink } from './events.js';

/** What a handler gets besides its operation. */
export interface HandlerContext {
  /** Aborted when the walk is cancelled (Ctrl-C): long waits should give up. */
  readonly signal: AbortSignal;
}

/** Does the work of one operation kind; resolves when done, rejects with a reason for humans. */
export type Handler<K extends OperationKind> = (op: OperationOf<K>, context: HandlerContext) => Promise<void>;

/** One handler per kind the plan uses. */
export type Handlers = { readonly [K in OperationKind]?: Handler<K> };

/** How to walk. */
export interface WalkOptions {
  /** Operations in flight at most (default 8). */
  readonly concurrency?: number;
  readonly sink?: EventSink;
  readonly now?: Clock;
  /** Stops starting new operations; those not started are reported as skipped (`cancelled`). */
  readonly signal?: AbortSignal;
}

/** What happened to each operation. */
export interface WalkResult {
  /** Ids, in completion order. */
  readonly done: readonly string[];
  readonly failed: readonly { readonly op: Operation; readonly error: unknown }[];
  /** Ids never started: a dependency failed, or the walk was cancelled. */
  readonly skipped: readonly string[];
}

/** Refuses, before anything runs, a plan the walker cannot run whole. */
function check(plan: Plan, handlers: Handlers): void {
  const ids = new Set<string>();
  for (const op of plan.operations) {
    if (ids.has(op.id)) throw new Error(`plan has operation ${op.id} twice`);
    ids.add(op.id);
  }
  for (const op of plan.operations)
    for (const dep of op.dependsOn)
      if (!ids.has(dep)) throw new Error(`operation ${op.id} depends on ${dep}, which is not in the plan`);
  const missing = [...new Set(plan.operations.map((op) => op.kind))].filter((kind) => !handlers[kind]);
  if (missing.length) throw new Error(`no handler for ${missing.join(', ')}`);
  const byId = new Map(plan.operations.map((op) => [op.id, op]));
  toposort([...ids], (id) => byId.get(id)?.dependsOn ?? [], 'the plan');
}

/** Runs `plan` through `handlers`; never rejects for an operation's failure (see WalkResult). */
export async function walk(plan: Plan, handlers: Handlers, options: WalkOptions = {}): Promise<WalkResult> {
  check(plan, handlers);
  const sink = options.sink ?? nullSink;
  const now = options.now ?? monotonic;
  const limit = Math.max(1, options.concurrency ?? 8);
  const signal = options.signal ?? new AbortController().signal;
  const started = now();
  sink.emit({ type: 'plan-started', project: plan.project, operations: plan.operations });

  const order = new Map(plan.operations.map((op, i) => [op.id, i]));
  // Ready steps start in plan order (which the progress display follows too), but a network's
  // removal before the rest: its bridge then joins the veths' batched deletion, which goes as
  // soon as every deletion has asked (handlers/netns.ts). Started behind twenty services'
  // removals, it came after that batch had gone, and the kernel paid two RCU waits in a row
  // (a traced `down` of 20: detach-veth 146.5-205.6 ms, remove-network 155.7-206.4).
  const rankOf = (op: Operation): number => (op.kind === 'remove-network' ? -1 : (order.get(op.id) ?? 0));
  const waiting = new Map(plan.operations.map((op) => [op.id, new Set(op.dependsOn)]));
  const dependents = new Map<string, Operation[]>(plan.operations.map((op) => [op.id, []]));
  for (const op of plan.operations) for (const dep of op.dependsOn) dependents.get(dep)?.push(op);
  const ready = plan.operations.filter((op) => op.dependsOn.length === 0);
  const done: string[] = [];
  const failed: { op: Operation; error: unknown }[] = [];
  const skipped = new Set<string>();
  let running = 0;

  const skip = (op: Operation, blockedBy: string): void => {
    if (skipped.has(op.id)) return;
    skipped.add(op.id);
    sink.emit({ type: 'operation-skipped', ...refOf(op), blockedBy });
    for (const next of dependents.get(op.id) ?? []) skip(next, blockedBy);
  };

  await new Promise<void>((resolve) => {
    const pump = (): void => {
      while (running < limit && ready.length > 0 && !signal.aborted) {
        const op = ready.shift() as Operation;
        running++;
        const handler = handlers[op.kind] as (op: Operation, context: HandlerContext) => Promise<void>;
        const begun = sinceStart(); // the trace's own clock, not the walk's (tests fake that one)
        timed(sink, op, () => handler(op, { signal }), now)
          .finally(() => traceSpan(op.id, begun, sinceStart()))
          .then(
            () => {
              done.push(op.id);
              for (const next of dependents.get(op.id) ?? []) {
                const left = waiting.get(next.id);
                left?.delete(op.id);
                if (left?.size === 0 && !skipped.has(next.id)) insertByRank(ready, next, rankOf);
              }
            },
            (error: unknown) => {
              failed.push({ op, error });
              for (const next of dependents.get(op.id) ?? []) skip(next, op.id);
            },
          )
          .finally(() => {
            running--;
            pump();
          });
      }
      if (running > 0) return;
      if (signal.aborted) {
        const settled = new Set([...done, ...failed.map((f) => f.op.id)]);
        for (const op of plan.operations) if (!settled.has(op.id)) skip(op, 'cancelled');
      }
      resolve();
    };
    pump();
  });

  sink.emit({
    type: 'plan-done',
    project: plan.project,
    done: done.length,
    failed: failed.length,
    skipped: skipped.size,
    durationMs: now() - started,
  });
  return { done, failed, skipped: [...skipped] };
}

/** Throws the failures of a walk: the error itself when one, all of them together when several. */
export function throwIfFailed(result: WalkResult): void {
  if (result.failed.length === 0) return;
  const errors = result.failed.map(({ op, error }) => (error instanceof Error ? error : new Error(`${op.id}: ${String(error)}`)));
  if (errors.length === 1) throw errors[0];
  throw new AggregateStackError(`${errors.length} operations failed`, errors);
}
