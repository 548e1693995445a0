// The executor reports what it does as typed events to a sink; renderers (ink for a TTY, plain
// lines for CI, JSON for scripts) consume them and decide nothing. Events are plain data, so the
// JSON renderer can print them as they are.
import { KernelError, UserError } from '../errors.js';
import type { Operation } from '../planner/plan.js';
import { operationService } from '../planner/plan.js';
import { sinceStart } from '../sys/builtin.js';

/** An error as data: what a renderer shows and a JSON consumer reads. */
export interface ErrorSummary {
  readonly name: string;
  readonly message: string;
  /** UserError code (`PORT_IN_USE`) or KernelError errno (`EEXIST`). */
  readonly code?: string;
  readonly hint?: string;
  /** For a KernelError: the whole call, `RTM_NEWLINK stk1a2b (peer eth0 in stk-web)`. */
  readonly call?: string;
}

/** What every operation event says about its operation. */
export interface OperationRef {
  /** Operation id, e.g. `start-service:web`. */
  readonly id: string;
  readonly kind: Operation['kind'];
  /** `service:web`, `network:backend`, ... */
  readonly resource: string;
  /** The service concerned, when there is one (for `name |` prefixes and per-service rows). */
  readonly service?: string;
  readonly cause: string;
}

/** Everything the executor reports. */
export type StackEvent =
  | { readonly type: 'plan-started'; readonly project: string; readonly operations: readonly Operation[] }
  | (OperationRef & { readonly type: 'operation-started' })
  | (OperationRef & { readonly type: 'operation-done'; readonly durationMs: number })
  | (OperationRef & { readonly type: 'operation-failed'; readonly durationMs: number; readonly error: ErrorSummary })
  | (OperationRef & {
      readonly type: 'operation-skipped';
      /** The failed operation it waited for, or `cancelled`. */
      readonly blockedBy: string;
    })
  | {
      readonly type: 'plan-done';
      readonly project: string;
      readonly done: number;
      readonly failed: number;
      readonly skipped: number;
      readonly durationMs: number;
    };

/** The event of one type, for consumers that switch on `type`. */
export type StackEventOf<T extends StackEvent['type']> = Extract<StackEvent, { type: T }>;

/** Where events go: a renderer, a recorder, a fan-out. */
export interface EventSink {
  emit(event: StackEvent): void;
}

/** A sink that drops everything (commands run quietly, e.g. in tests of other parts). */
export const nullSink: EventSink = { emit: () => undefined };

/** A sink that keeps every event, for tests and for replaying to a renderer. */
export class RecordingSink implements EventSink {
  readonly events: StackEvent[] = [];

  emit(event: StackEvent): void {
    this.events.push(event);
  }

  /** The events of one type, in order. */
  ofType<T extends StackEvent['type']>(type: T): StackEventOf<T>[] {
    return this.events.filter((e): e is StackEventOf<T> => e.type === type);
  }
}

/** Sends every event to each of `sinks` (a renderer and a log file, say). */
export function fanOut(...sinks: EventSink[]): EventSink {
  return { emit: (event) => sinks.forEach((s) => s.emit(event)) };
}

/** Milliseconds from an arbitrary origin; injected so tests need no real time. */
export type Clock = () => number;

/** The real clock (sys/builtin.ts sinceStart: without loading perf_hooks). */
export const monotonic: Clock = sinceStart;

/** The reference to `op` every operation event carries. */
export function refOf(op: Operation): OperationRef {
  const service = operationService(op);
  return { id: op.id, kind: op.kind, resource: op.resource, ...(service !== undefined ? { service } : {}), cause: op.cause };
}

/** Any thrown value as data. */
export function summarizeError(error: unknown): ErrorSummary {
  if (error instanceof UserError)
    return { name: error.name, message: error.message, code: error.code, ...(error.hint !== undefined ? { hint: error.hint } : {}) };
  if (error instanceof KernelError) return { name: error.name, message: error.message, code: error.errno, call: error.call };
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}

/**
 * Runs one operation's work, emitting started, then done or failed with its duration; rethrows.
 * An error `gaveUp` tells is no failure of the operation (it gave up for a dependency's: walk.ts
 * reports it skipped) and emits nothing here.
 */
export async function timed<T>(sink: EventSink, op: Operation, work: () => Promise<T>, now: Clock = monotonic, gaveUp?: (error: unknown) => boolean): Promise<T> {
  const ref = refOf(op);
  const start = now();
  sink.emit({ type: 'operation-started', ...ref });
  try {
    const result = await work();
    sink.emit({ type: 'operation-done', ...ref, durationMs: now() - start });
    return result;
  } catch (error) {
    if (gaveUp?.(error) !== true) sink.emit({ type: 'operation-failed', ...ref, durationMs: now() - start, error: summarizeError(error) });
    throw error;
  }
}
