// apply(): executes a Plan on this host. Allocates the project's addresses, walks the plan
// through one handler per kind (walk.ts), and reports each operation to the sink. It decides
// nothing the planner did not: an operation that fails has undone what it half-made, what
// depends on it is skipped, services already started keep running, and the error names the
// service and why. `down` (an empty project) also stops the supervisor first and clears the
// project's run folder once nothing is left.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AggregateStackError, UserError } from '../errors.js';
import { openNetworkDriver, type NetworkDriver } from '../network/setup.js';
import type { IpamRecord } from '../network/ipam.js';
import { removeFirewall } from '../network/firewall/index.js';
import type { Operation, Plan } from '../planner/plan.js';
import { operationService } from '../planner/plan.js';
import type { Project } from '../spec/project.js';
import { serialized } from '../state/atomic.js';
import { emptyLiveState, type LiveState } from '../state/live.js';
import { acquireFileLock, type ProjectLock } from '../state/lock.js';
import { projectRunDir, stateRoots } from '../state/paths.js';
import { networkRecords, serviceRecords } from '../state/records.js';
import { openCgroups, type CgroupManager } from '../runtime/cgroup/index.js';
import type { ExecutorEnv, RunContext } from './context.js';
import { crashHook } from './crash.js';
import { nullSink, type EventSink } from './events.js';
import { handlersFor } from './handlers/index.js';
import { writeNameFiles } from './handlers/names.js';
import { allocateProject, hostPrefixes, ipamStore } from './ipam.js';
import { withOneOffs } from './oneoff.js';
import { readBootId } from '../runtime/proc.js';
import { writeSnapshot } from '../state/snapshot.js';
import { killProcess, supervisorProcesses } from './supervisor-procs.js';
import { walk, type Handlers, type WalkResult } from './walk.js';

/** How to apply. */
export interface ApplyOptions {
  readonly env: ExecutorEnv;
  /** What the plan was made from (default: nothing observed). */
  readonly live?: LiveState;
  readonly sink?: EventSink;
  /** Cancels the walk: operations not started are skipped; started ones finish. */
  readonly signal?: AbortSignal;
  /** Operations in flight at most (default 8). */
  readonly concurrency?: number;
}

/** What happened. */
export interface ApplyResult {
  readonly walk: WalkResult;
  /** Things the user should know that are not failures. */
  readonly notices: readonly string[];
}

/** Serializes the choice of subnets across projects (and test roots): the kernel's addresses are global. */
const IPAM_LOCK = { path: '/run/lock/stack/ipam.lock', dir: '/run/lock/stack' };

/** Runs `plan` for `project`; rejects with the failures (each naming its service) once all settled. */
export async function apply(plan: Plan, project: Project, options: ApplyOptions): Promise<ApplyResult> {
  const env = options.env;
  const roots = env.roots ?? stateRoots();
  const empty = Object.keys(project.services).length === 0;
  const notices: string[] = [];
  let network: NetworkDriver | undefined;
  let cgroups: Promise<CgroupManager> | undefined;
  const creates = plan.operations.filter((op) => op.kind === 'create-network').length;
  let ipamLock: ProjectLock | undefined =
    creates > 0 ? await acquireFileLock(IPAM_LOCK.path, IPAM_LOCK.dir, 'address allocation', { command: `stack (project ${project.name})` }) : undefined;
  try {
    const store = ipamStore(roots, project.name);
    // Live one-offs (`stack run`) keep their addresses and stay in the snapshot (oneoff.ts).
    const full = empty ? project : await withOneOffs(project, roots, plan);
    const ipam: IpamRecord = empty ? { version: 1, networks: {} } : await allocateProject(full, store, hostPrefixes(project));
    const ctx: RunContext = {
      project,
      live: options.live ?? emptyLiveState(project.name),
      roots,
      bootId: env.bootId ?? readBootId(),
      ipam,
      env,
      network: () => (network ??= (env.openNetwork ?? openNetworkDriver)()),
      cgroups: () => (cgroups ??= (env.openCgroups ?? openCgroups)()),
      serial: (key, work) => serialized(`${roots.run}\0${project.name}\0${key}`, work),
      notice: (message) => void (notices.includes(message) || notices.push(message)),
      reached: crashHook(env.crashAt),
    };
    // The supervisor starts while the walk runs (it takes a Node start); afterUp tells it to reread.
    let starting: Promise<unknown> = Promise.resolve();
    if (empty) {
      await env.supervisor.stop(project.name);
      // One that a crashed `up` was still starting has no pid file yet: found by its command line.
      const strays = supervisorProcesses().filter((s) => s.project === project.name && s.run === roots.run);
      for (const stray of strays) await killProcess(stray.pid, stray.startTime);
      if (strays.length) await env.supervisor.stop(project.name); // its files, written before it died

    } else {
      await writeSnapshot(roots, full, ipam);
      starting = env.supervisor.ensure(project.name).catch((e: unknown) => e);
    }

    let pendingCreates = creates;
    const handlers = handlersFor(ctx);
    const wrapped: Handlers = {
      ...handlers,
      'create-network': async (op, context) => {
        try {
          await handlers['create-network'](op, context);
        } finally {
          if (--pendingCreates === 0) await ipamLock?.release();
        }
      },
    };
    const walkOptions = { sink: options.sink ?? nullSink, ...(options.signal && { signal: options.signal }) };
    const result = await walk(plan, withCrashHook(wrapped, ctx), { ...walkOptions, concurrency: options.concurrency ?? 8 });
    await ipamLock?.release();
    ipamLock = undefined;

    const early = await starting;
    if (empty) await clearRunFolder(ctx, plan);
    else if (!options.signal?.aborted) await afterUp(ctx, early, plan);
    // A wait cut short by the cancellation (Ctrl-C) is not a failure of its own.
    const cancelled = (e: unknown): boolean => options.signal?.aborted === true && e instanceof Error && e.name === 'AbortError';
    const failed = result.failed.filter((f) => !cancelled(f.error));
    if (failed.length) throw failure({ ...result, failed });
    return { walk: result, notices };
  } finally {
    await ipamLock?.release();
    network?.close();
  }
}

/** Calls the crash hook once each operation is done (test only, see crash.ts). */
function withCrashHook(handlers: Handlers, ctx: RunContext): Handlers {
  const out: Record<string, unknown> = {};
  for (const [kind, handler] of Object.entries(handlers)) {
    out[kind] = async (op: Operation, context: Parameters<NonNullable<Handlers['start-service']>>[1]) => {
      await (handler as (op: Operation, c: typeof context) => Promise<void>)(op, context);
      ctx.reached(op.id);
    };
  }
  return out as Handlers;
}

/**
 * After `up`: every running service's name files current (peers may have joined), the supervisor
 * told. A plan that only stops and starts processes (restart, stop, start, a watch action)
 * changes no address or membership, and start-service writes its own files: no rewrite then.
 */
async function afterUp(ctx: RunContext, early: unknown, plan: Plan): Promise<void> {
  if (early instanceof Error) throw early;
  const processesOnly = plan.operations.every((op) => op.kind === 'stop-service' || op.kind === 'start-service');
  if (!processesOnly) {
    const { records } = await serviceRecords.list(ctx.roots, ctx.project.name);
    for (const r of records) if (r.process && ctx.project.services[r.service]) await writeNameFiles(ctx, r.service);
  }
  await ctx.env.supervisor.ensure(ctx.project.name);
}

/**
 * After `down`: once no record is left, the rest of the run folder goes too. The
 * firewall follows the network records (a rule never outlives its record), so it needs a
 * sweep only when a network record was seen and no remove-network of this run rewrote it.
 */
async function clearRunFolder(ctx: RunContext, plan: Plan): Promise<void> {
  const name = ctx.project.name;
  const [services, networks] = await Promise.all([serviceRecords.list(ctx.roots, name), networkRecords.list(ctx.roots, name)]);
  if (services.records.length > 0 || networks.records.length > 0) return;
  const rewritten = plan.operations.some((op) => op.kind === 'remove-network');
  if (Object.keys(ctx.live.networks).length > 0 && !rewritten) {
    await removeFirewall(name, ctx.env.firewallTarget);
  }
  // Everything else of the run folder: allocation, snapshot, runtime files, and the temp files of
  // a record write that a crash cut short. The lock stays for its holder to remove.
  const dir = projectRunDir(ctx.roots, name);
  for (const entry of await readdir(dir).catch(() => [] as string[])) {
    if (entry !== 'lock') await rm(join(dir, entry), { recursive: true, force: true });
  }
}

/** The error of a walk's failures, each naming its service (or resource) and why. */
function failure(result: WalkResult): Error {
  const errors = result.failed.map(({ op, error }) => named(op, error));
  if (errors.length === 1) return errors[0] as Error;
  const userErrors = errors.filter((e): e is UserError => e instanceof UserError);
  const message = `${errors.length} operations failed:\n  ${errors.map((e) => e.message).join('\n  ')}`;
  if (userErrors.length === errors.length) return new UserError(userErrors[0]!.code, message, userErrors[0]!.hint);
  return new AggregateStackError(`${errors.length} operations failed`, errors);
}

function named(op: Operation, error: unknown): Error {
  const service = operationService(op);
  const what = service !== undefined ? `service "${service}"` : op.resource;
  const raw = error instanceof Error ? error.message : String(error);
  const message = service !== undefined && raw.includes(`"${service}"`) ? raw : `${what}: ${raw}`;
  if (error instanceof UserError) return new UserError(error.code, message, error.hint, { cause: error });
  return new Error(`${message} (${op.id})`, { cause: error });
}