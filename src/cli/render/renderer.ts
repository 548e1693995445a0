// What a command's progress output is: an event sink plus the few things a command says
// around a plan (a notice, the end). Renderers format and decide nothing (STYLE.md "UI").
import type { EventSink } from '../../executor/events.js';
import { operationService, type Operation } from '../../planner/plan.js';
import { replicaLabels } from '../../planner/replicas.js';

/** A sink for executor events that also prints notices and knows when output is over. */
export interface Renderer extends EventSink {
  /** Something the user should know that is not an operation (`waiting for the lock ...`). */
  notice(message: string): void;
  /** Flushes and stops drawing (the TTY view unmounts); idempotent. */
  close(): Promise<void>;
}

/** `--progress` values. */
export type ProgressMode = 'auto' | 'tty' | 'plain' | 'json' | 'quiet';

/** The verb a kind shows as, in the past tense and while running. */
export const VERBS: Readonly<Record<string, readonly [running: string, done: string]>> = {
  'create-network': ['Creating', 'Created'],
  'remove-network': ['Removing', 'Removed'],
  'create-volume': ['Creating', 'Created'],
  'remove-volume': ['Removing', 'Removed'],
  'unmount-volume': ['Unmounting', 'Unmounted'],
  'create-netns': ['Creating', 'Created'],
  'remove-netns': ['Removing', 'Removed'],
  'attach-veth': ['Attaching', 'Attached'],
  'detach-veth': ['Detaching', 'Detached'],
  'start-service': ['Starting', 'Started'],
  'stop-service': ['Stopping', 'Stopped'],
  'remove-service': ['Removing', 'Removed'],
  'stop-supervisor': ['Stopping', 'Stopped'],
  'remove-project': ['Removing', 'Removed'],
};

/**
 * How the services of a plan's operations show, as `ps` and log prefixes show them: the replicas
 * of a scaled service `worker-1`, `worker-2` (their keys are `worker`, `worker#2`).
 */
export function planLabels(operations: readonly Operation[]): ReadonlyMap<string, string> {
  return replicaLabels([...new Set(operations.flatMap((op) => operationService(op) ?? []))]);
}

/** The kinds of resource whose id begins with a service's key (`veth web/backend`). */
const OF_SERVICES: ReadonlySet<string> = new Set(['service', 'netns', 'veth']);

/** `network default`, `service web`, `veth web/backend`: a resource id as words, a service's as `labels` shows it. */
export function resourceLabel(resource: string, labels?: ReadonlyMap<string, string>): string {
  const colon = resource.indexOf(':');
  if (colon < 0) return resource;
  const kind = resource.slice(0, colon);
  const [first = '', ...rest] = resource.slice(colon + 1).split('/');
  return `${kind} ${[(OF_SERVICES.has(kind) ? labels?.get(first) : undefined) ?? first, ...rest].join('/')}`;
}

/** Milliseconds for humans: `12ms`, `1.4s`. */
export function duration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
}
