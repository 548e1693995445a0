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
  /**
   * Resolves once the operation's late dependencies (WalkOptions.late) are done: the handler
   * waits for it where their order matters. Rejects with a DependencyBlocked when one failed,
   * was skipped or the walk was cancelled: the handler undoes what it did and lets it through,
   * and the operation is reported skipped (after its operation-started: it began), not failed.
   * No late dependency: resolved.
   */
  readonly after: () => Promise<void>;
  /**
   * Lets the operations that have this one as a late dependency begin (else they begin once it
   * is done): a start calls it as it launches, its own waits over, so the next start of a
   * depends_on chain prepares while this one launches, not while this one prepares too; a stop
   * once its service's processes are gone (the stops of the services it depends on begin then,
   * and a teardown's veth and network removals).
   */
  readonly ready: () => void;
  /**
   * Waits for `wait` holding no slot, so that others begin meanwhile (a wait for the kernel, for
   * other operations), then takes one again to go on: at once when one is free, else the next
   * one to free up (before any operation not begun yet). Settles as `wait` does. One wait at a
   * time: the operation gives back the one slot it holds.
   */
  readonly aside: <T>(wait: Promise<T>) => Promise<T>;
}

/** An operation given up because a late dependency of it did not happen (HandlerContext.after). */
export class DependencyBlocked extends Error {
  override readonly name = 'DependencyBlocked';
  constructor(readonly blockedBy: string) {
    super(`blocked by ${blockedBy}`);
  }
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
  /**
   * Stops starting new operations; those not started, and those waiting for a late dependency
   * (which give up), are reported as skipped (`cancelled`).
   */
  readonly signal?: AbortSignal;
  /**
   * Which dependencies of an operation are late: it begins once the others are done and these
   * said ready (or are done), and waits for these itself (HandlerContext.after) where their order
   * matters, its slot given back meanwhile. A dependent's start does what comes before its
   * launch (its records, cgroups, files, request) while the service it depends on is being
   * launched. One that never waits (a teardown's veth removal after a stop's ready) goes on
   * whatever the late dependency does next, failing included.
   */
  readonly late?: (op: Operation, dependency: Operation) => boolean;
}

/** What happened to each operation. */
export interface WalkResult {
  /** Ids, in completion order. */
  readonly done: readonly string[];
  readonly failed: readonly { readonly op: Operation; readonly error: unknown }[];
  /** Ids never started, or given up while waiting for a late dependency: a dependency failed, or the walk was cancelled. */
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
  const byId = new Map(plan.operations.map((op) => [op.id, op]));
  const isLate = (op: Operation, dep: string): boolean => options.late !== undefined && options.late(op, byId.get(dep)!);
  // What each operation waits for before it begins, and the late ones it waits for itself.
  const waiting = new Map(plan.operations.map((op) => [op.id, new Set(op.dependsOn.filter((d) => !isLate(op, d)))]));
  const lateLeft = new Map(plan.operations.map((op) => [op.id, new Set(op.dependsOn.filter((d) => isLate(op, d)))]));
  const lateDone = new Map<string, { promise: Promise<void>; resolve: () => void; reject: (e: DependencyBlocked) => void }>();
  const afterOf = (id: string) => {
    let d = lateDone.get(id);
    if (d === undefined) {
      let resolve!: () => void;
      let reject!: (e: DependencyBlocked) => void;
      const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      promise.catch(() => undefined); // the handler may never ask
      lateDone.set(id, (d = { promise, resolve, reject }));
      if (lateLeft.get(id)?.size === 0) resolve();
    }
    return d;
  };
  // The late dependencies that have not said ready yet (HandlerContext.ready, or done): an
  // operation begins once these and its other dependencies allow.
  const unready = new Map(plan.operations.map((op) => [op.id, new Set(lateLeft.get(op.id))]));
  const dependents = new Map<string, Operation[]>(plan.operations.map((op) => [op.id, []]));
  for (const op of plan.operations) for (const dep of op.dependsOn) dependents.get(dep)?.push(op);
  const canBegin = (op: Operation): boolean => waiting.get(op.id)!.size === 0 && unready.get(op.id)!.size === 0;
  const ready = plan.operations.filter(canBegin);
  const done: string[] = [];
  const failed: { op: Operation; error: unknown }[] = [];
  const skipped = new Set<string>();
  /** Begun and not settled yet (running, or waiting for a late dependency). */
  const begun = new Set<string>();
  /** Done, failed, or given up for a late dependency. */
  const settled = new Set<string>();
  /** Operations done waiting (after(), aside()), waiting for a slot to go on in. */
  const resuming: (() => void)[] = [];
  let running = 0;
  /** Queues `op` to begin when nothing holds it back any more and it is not under way, settled or skipped; whether it did. */
  const letBegin = (op: Operation): boolean => {
    if (!canBegin(op) || skipped.has(op.id) || begun.has(op.id) || settled.has(op.id)) return false;
    insertByRank(ready, op, rankOf);
    return true;
  };

  const skip = (op: Operation, blockedBy: string): void => {
    if (skipped.has(op.id) || settled.has(op.id)) return;
    if (begun.has(op.id)) {
      // Under way, waiting (or to wait) for this late dependency: it gives up there (after()).
      afterOf(op.id).reject(new DependencyBlocked(blockedBy));
      return;
    }
    skipped.add(op.id);
    sink.emit({ type: 'operation-skipped', ...refOf(op), blockedBy });
    for (const next of dependents.get(op.id) ?? []) skip(next, blockedBy);
  };

  // Cancelled: one waiting for a late dependency gives up now, not once that is done.
  const giveUp = (): void => {
    for (const id of begun) afterOf(id).reject(new DependencyBlocked('cancelled'));
  };
  signal.addEventListener('abort', giveUp, { once: true });

  await new Promise<void>((resolve) => {
    const pump = (): void => {
      while (running < limit && resuming.length > 0) {
        running++;
        resuming.shift()!();
      }
      while (running < limit && ready.length > 0 && !signal.aborted) {
        const op = ready.shift() as Operation;
        if (skipped.has(op.id)) continue; // let begin by a late dependency's ready, then blocked by another's failure
        running++;
        begun.add(op.id);
        const handler = handlers[op.kind] as (op: Operation, context: HandlerContext) => Promise<void>;
        const from = sinceStart(); // the trace's own clock, not the walk's (tests fake that one)
        // Waiting, an operation holds no slot: what it waits for may need one.
        const aside = async <T,>(wait: Promise<T>): Promise<T> => {
          running--;
          pump();
          try {
            return await wait;
          } finally {
            // Back in a slot of its own: at once when one is free, else the next one to free
            // up (before any operation not begun yet). Twenty starts let go by one dependency
            // go on at most `limit` at a time.
            if (running < limit) running++;
            else await new Promise<void>((take) => resuming.push(take));
          }
        };
        // Waiting for its late dependencies, aside: the ones it waits for may need a slot.
        const after = async (): Promise<void> => {
          const late = afterOf(op.id);
          if (lateLeft.get(op.id)?.size === 0) return late.promise;
          await aside(late.promise);
        };
        // Its late dependents may begin (an operation done says so too, below).
        const readied = (): void => {
          let more = false;
          for (const next of dependents.get(op.id) ?? []) if (unready.get(next.id)?.delete(op.id) && letBegin(next)) more = true;
          // Begun from the event loop's next turn, not now: the preparations a chain lets begin
          // one after another run in promise callbacks, which keep the loop from the answers
          // and completions under way (a launch's answer, the firewall's write) until they stop.
          if (more) setImmediate(pump);
        };
        timed(sink, op, () => handler(op, { signal, after, ready: readied, aside }), now, (e) => e instanceof DependencyBlocked)
          .finally(() => traceSpan(op.id, from, sinceStart()))
          .then(
            () => {
              done.push(op.id);
              settled.add(op.id);
              begun.delete(op.id);
              for (const next of dependents.get(op.id) ?? []) {
                const late = lateLeft.get(next.id);
                if (late?.delete(op.id)) {
                  if (late.size === 0 && !signal.aborted) afterOf(next.id).resolve();
                  if (!unready.get(next.id)?.delete(op.id)) continue; // it said ready before, and its dependent was let begin then
                } else waiting.get(next.id)?.delete(op.id);
                letBegin(next);
              }
            },
            (error: unknown) => {
              begun.delete(op.id);
              if (error instanceof DependencyBlocked) {
                // Given up where it waited for a late dependency (what it made undone): skipped.
                skip(op, error.blockedBy);
                settled.add(op.id);
                return;
              }
              settled.add(op.id);
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
        // Cancelled: what never began is skipped; one waiting for a late dependency gives up.
        for (const op of plan.operations) if (!settled.has(op.id)) skip(op, 'cancelled');
      }
      if (begun.size > 0) return; // one waiting for a late dependency settles later
      signal.removeEventListener('abort', giveUp);
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
