// The lifecycle verbs as functions: restart, start and stop named services of an already loaded
// project, each observe → plan → apply under the project's lock (waiting for it). `stack
// restart|start|stop` call them with the project as the last `up` applied it; `stack watch`
// calls restartServices on its edit → running-again path with the project it loaded (this module
// never reads the spec). src/watch should receive these as injected functions from the watch
// command rather than import src/cli (dependencies point inward).
import { mark } from '../../trace.js';
import { UserError } from '../../errors.js';
import { apply } from '../../executor/apply.js';
import type { EventSink } from '../../executor/events.js';
import { planRestart, planStart, planStop, type Plan } from '../../planner/index.js';
import type { Project } from '../../spec/project.js';
import type { LiveState } from '../../state/live.js';
import { acquireProjectLock, describeHolder } from '../../state/lock.js';
import { observe } from '../../state/observe.js';
import { assertServices } from './assert-services.js';
import type { RunEnv } from './executor-env.js';

/** Where a lifecycle verb reports: the executor's events, and notices when the sink takes them (a Renderer does). */
export type LifecycleSink = EventSink & { notice?(message: string): void };

/** What restartServices, startServices and stopServicesNamed take. */
export interface LifecycleRequest {
  readonly env: RunEnv;
  /** The project as loaded (never re-read here); its services' specs are what gets launched. */
  readonly project: Project;
  /** Services to act on; each must be in `project` (UserError SERVICE_UNKNOWN otherwise). */
  readonly services: readonly string[];
  /** Cause written on every operation, e.g. `stack restart` or `src/server.js changed`. */
  readonly cause: string;
  readonly sink: LifecycleSink;
  /** Grace period of the stops, overriding stop_grace_period (`-t N`). */
  readonly timeoutMs?: number;
  /** Cancels waiting for the lock and operations not started yet. */
  readonly signal?: AbortSignal;
}

/**
 * Stops and starts `services` without recreating them (config changes are not applied), then,
 * unless noDeps, the services that follow them with `depends_on.<it>.restart: true`. A stopped
 * service is started; one never started is left alone. Resolves once all are started, with the
 * number of operations made (0: none of them is up).
 */
export async function restartServices(request: LifecycleRequest & { readonly noDeps?: boolean }): Promise<number> {
  return planAndApply(request, 'restart', (live) =>
    planRestart(request.project, live, { services: request.services, cause: request.cause, ...(request.noDeps && { noDeps: true }) }),
  );
}

/** Starts `services` and what they depend on where they are not running, without recreating them; never creates one (SERVICE_NOT_CREATED). */
export async function startServices(request: LifecycleRequest): Promise<void> {
  await planAndApply(request, 'start', (live) => {
    const unmade = request.services.find((s) => !live.services[s]);
    if (unmade !== undefined) {
      throw new UserError('SERVICE_NOT_CREATED', `stack start: service "${unmade}" has not been created`, `\`stack up ${unmade}\` creates and starts it`);
    }
    return planStart(request.project, live, { services: request.services, cause: request.cause });
  });
}

/** Stops `services` (dependents first); they stay stopped (no restart policy applies) until start or up. */
export async function stopServicesNamed(request: LifecycleRequest): Promise<void> {
  await planAndApply(request, 'stop', (live) => planStop(request.project, live, { services: request.services, cause: request.cause }));
}

/** A restart begun before its cause is complete: the project locked and the services stopped until finish(). */
export interface BegunRestart {
  /** Starts the services again as restartServices would (their `restart: true` dependents bounce), then unlocks; resolves with the operations made. */
  finish(cause: string): Promise<number>;
}

/**
 * The first half of a restart, for `stack watch`: at the first change of a batch it locks the
 * project and stops `services`, so the stop overlaps the batch's quiet window instead of
 * following it; finish() (once the batch closes) starts them. The lock is held in between:
 * no other command sees the services stopped, or starts them.
 */
export async function beginRestart(request: LifecycleRequest): Promise<BegunRestart> {
  assertServices(request.project, request.services, 'restart');
  const { env, lock } = await lockFor(request, 'restart');
  // The executor's start side, loaded while the services stop, for the start to come: a static
  // import of the runtime put it into every lifecycle command's pack beside the kernel side's own
  // copy (`restart` read and compiled ~200 KB of it twice).
  const loading = import('../../executor/kernel.js').then((k) => k.loadStartSide());
  loading.catch(() => undefined); // reported below, after the stop
  let startSide: import('../../executor/kernel.js').StartSide;
  try {
    await applyPlanned(request, env, (live) => planStop(request.project, live, { services: request.services, cause: request.cause }));
    startSide = await loading;
  } catch (e) {
    await lock.release();
    throw e;
  }
  const { discardPreparedLauncher, prepareLauncher } = startSide;
  // The start's launchers spawned and placed now, while the batch is still open (launch.ts).
  for (const service of request.services) prepareLauncher(request.project.name, service);
  let finished = false;
  return {
    async finish(cause) {
      if (finished) return 0;
      finished = true;
      try {
        return await applyPlanned(request, env, (live) => planRestart(request.project, live, { services: request.services, cause }));
      } finally {
        for (const service of request.services) discardPreparedLauncher(request.project.name, service);
        await lock.release();
      }
    },
  };
}

/** Plans under the lock and applies; resolves with the number of operations made. */
async function planAndApply(request: LifecycleRequest, verb: string, planFor: (live: LiveState) => Plan): Promise<number> {
  assertServices(request.project, request.services, verb);
  const { env, lock } = await lockFor(request, verb);
  try {
    return await applyPlanned(request, env, planFor);
  } finally {
    await lock.release();
  }
}

/** The project's lock (waited for, saying who holds it) and the run environment with `-t`. */
async function lockFor(request: LifecycleRequest, verb: string): Promise<{ env: RunEnv; lock: Awaited<ReturnType<typeof acquireProjectLock>> }> {
  const { project, sink, signal } = request;
  const env: RunEnv = request.timeoutMs !== undefined ? { ...request.env, stopTimeoutMs: request.timeoutMs } : request.env;
  const lock = await acquireProjectLock(env.roots, project.name, {
    command: `stack ${verb}`,
    wait: true,
    ...(signal && { signal }),
    onWait: (holder) => sink.notice?.(`waiting for project ${project.name}: it is locked by ${describeHolder(holder)}`),
  });
  mark('lifecycle: lock held');
  return { env, lock };
}

/** Observes, plans and applies under a lock already held; resolves with the number of operations made. */
async function applyPlanned(request: LifecycleRequest, env: RunEnv, planFor: (live: LiveState) => Plan): Promise<number> {
  const { project, sink, signal } = request;
  const live = await observe(project.name, { roots: env.roots });
  mark('lifecycle: observed');
  for (const w of live.warnings) sink.notice?.(`warning: ${w}`);
  const planned = planFor(live);
  mark('lifecycle: planned');
  if (planned.operations.length === 0) return 0;
  // apply() spawns and places each start's launcher while the services stop (launch.ts prepareLauncher).
  const result = await apply(planned, project, { env, live, sink, ...(signal && { signal }) });
  mark('lifecycle: applied');
  for (const n of result.notices) sink.notice?.(n);
  return planned.operations.length;
}
