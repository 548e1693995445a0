// apply(): executes a Plan on this host. Allocates the project's addresses, walks the plan
// through one handler per kind (walk.ts), and reports each operation to the sink. It decides
// nothing the planner did not: an operation that fails has undone what it half-made, what
// depends on it is skipped, services already started keep running, and the error names the
// service and why. Every plan is walked the same way, `down` too (src/planner/down.ts: its first
// step stops the supervisor, its last clears the run folder); the project's supervisor runs
// after any plan that does not stop it.
import { mark } from '../trace.js';
import { AggregateStackError, OperationFailure, UserError } from '../errors.js';
import type { NetworkDriver } from '../network/setup.js';
import type { IpamRecord } from '../network/ipam.js';
import type { Operation, Plan } from '../planner/plan.js';
import { operationService } from '../planner/plan.js';
import type { Project } from '../spec/project.js';
import { serialized } from '../state/atomic.js';
import { emptyLiveState, type LiveState } from '../state/live.js';
import { acquireFileLock, type ProjectLock } from '../state/lock.js';
import { stateRoots } from '../state/paths.js';
import { serviceRecords } from '../state/records.js';
import type { CgroupManager } from '../runtime/index.js';
import { readBootId } from '../sys/proc.js';
import type { ExecutorEnv, RunContext } from './context.js';
import { crashHook } from './crash.js';
import { nullSink, type EventSink } from './events.js';
import { allocateProject, hostPrefixes, ipamStore, keptAllocation } from './ipam.js';
import { withOneOffs } from './oneoff.js';
import { refuseRecreatingShared } from './shared-networks.js';
import { writeSnapshot } from '../state/snapshot.js';
import { StopsTogether } from './stops-together.js';
import { walk, type Handlers, type WalkResult } from './walk.js';

type Kernel = typeof import('./kernel.js');
type StartSide = import('./kernel.js').StartSide;

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
  /**
   * Whether the project's supervisor runs once the plan is done (default: unless the plan stops
   * it). `down` says false: an empty down plan (nothing left) must not start one.
   */
  readonly supervise?: boolean;
  /**
   * The project as the services it stops were started (read at most once, when a stop needs a
   * spec `project` lacks: its pre_stop hooks): `down` and a Ctrl-C's stop pass the snapshot's.
   */
  readonly startedAs?: () => Promise<Project | undefined>;
  /** `up -V`: RunContext.renewAnonVolumes. */
  readonly renewAnonVolumes?: boolean;
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
  // A plan that stops the supervisor (`down`, a Ctrl-C of `up`) leaves it stopped; any other leaves it running.
  const supervised = options.supervise ?? !plan.operations.some((op) => op.kind === 'stop-supervisor');
  const notices: string[] = [];
  let startedAs: Promise<Project | undefined> | undefined;
  let network: NetworkDriver | undefined;
  let cgroups: Promise<CgroupManager> | undefined;
  // The kernel side only for a plan with something to do (kernel.ts), and its start side only for
  // a plan that starts a service (handlers/start.ts); loading while the rest is read.
  const loading = plan.operations.length > 0 ? import('./kernel.js') : undefined;
  const startLoading: Promise<StartSide> | undefined = startedServices(plan).length > 0 ? loading!.then((k) => k.loadStartSide()) : undefined;
  // A load that fails is reported where it is awaited; until then it is no unhandled rejection.
  loading?.catch(() => undefined);
  startLoading?.catch(() => undefined);
  let loaded: Kernel | undefined;
  const kernel = (): Kernel => {
    if (!loaded) throw new Error('the executor acted on the kernel for a plan without operations (a bug)');
    return loaded;
  };
  const creates = plan.operations.filter((op) => op.kind === 'create-network').length;
  let ipamLock: ProjectLock | undefined =
    creates > 0 ? await acquireFileLock(IPAM_LOCK.path, IPAM_LOCK.dir, 'address allocation', { command: `stack (project ${project.name})` }) : undefined;
  const concurrency = options.concurrency ?? 8;
  let applied = false;
  let preparing: Promise<void> | undefined;
  // The supervisor it starts after the walk, when none runs: its launcher is prepared with the
  // first starts' (below), once the addresses are given, and let go of at the end if not taken.
  const prepares = supervised && plan.operations.length > 0 && env.supervisor.prepare !== undefined;
  try {
    const store = ipamStore(roots, project.name);
    await refuseRecreatingShared(roots, project, plan); // other projects' services on a network it would recreate
    // Live one-offs (`stack run`) keep their addresses and stay in the snapshot, and so do the
    // other services the plan leaves there that `project` lacks (oneoff.ts).
    const full = await withOneOffs(project, roots, plan);
    // A plan that gives no address (stops, removals: a Ctrl-C's, a one-off's removal, `down`)
    // uses the stored record as it is, networks no service uses and other projects' guests
    // included: what it removes is released by the next allocation, and a clash the project's
    // spec has (an address it pins that another service holds) never holds up a removal. A
    // restart (stop and start of processes only) keeps every address: the stored record is
    // reused when it holds exactly what the project has.
    const kept = (givesNoAddress(plan) ? await store.read() : undefined) ?? (processesOnly(plan) ? await keptAllocation(full, store) : undefined);
    // The host's prefixes less the bridges of every network `full` has: a network it carries is
    // this project's, not the host's (its own subnet would clash with itself and move).
    const ipam: IpamRecord = kept ?? (await allocateProject(full, store, () => hostPrefixes(full), roots));
    // The first starts' launchers are spawned now (launch.ts prepareLauncher), once the kernel
    // side and its start side (handlers/start.ts) are loaded and the addresses are given (a run
    // refused before, an external network missing, leaves no monitor group behind): each moves
    // itself into the monitor group while the snapshot is written and the networks and
    // namespaces made, and its launch only hands it the request. As many as the walk runs at
    // once; every other start prepares its own as it begins (start.ts). The ones no launch took
    // are ended below. So is the supervisor's (supervisor/control.ts prepareSupervisor), which
    // places itself while the walk goes on.
    // A plan that deletes host links in a batch (a `down`) spawns the helper that will send
    // that request now too (network/link.ts prepareLinkDeletion); the deletion only writes it.
    if (prepares) env.supervisor.prepare!(project.name);
    preparing = loading
      ?.then(async (k) => {
        if (applied) return;
        if (linkDeletions(plan) > 1 && env.openNetwork === undefined) k.prepareLinkDeletion();
        const start = await startLoading;
        if (applied || start === undefined) return;
        for (const service of startedServices(plan).slice(0, concurrency)) start.prepareLauncher(project.name, service);
      })
      .catch(() => undefined); // a launch spawns its own launcher then, and says what failed
    const together = new StopsTogether(teardownStops(plan));
    const ctx: RunContext = {
      project,
      live: options.live ?? emptyLiveState(project.name),
      roots,
      bootId: env.bootId ?? readBootId(),
      ipam,
      env,
      network: () => (network ??= (env.openNetwork ?? kernel().openNetworkDriver)()),
      cgroups: () => (cgroups ??= (env.openCgroups ?? kernel().openCgroups)()),
      serial: (key, work) => serialized(`${roots.run}\0${project.name}\0${key}`, work),
      notice: (message) => void (notices.includes(message) || notices.push(message)),
      reached: crashHook(),
      supervisorExit: {},
      planned: new Set(plan.operations.map((op) => op.id)),
      stopsTogether: together,
      ...(options.renewAnonVolumes === true && { renewAnonVolumes: true }),
      ...(options.startedAs !== undefined && {
        startedAs: async (service: string) => (await (startedAs ??= options.startedAs!().catch(() => undefined)))?.services?.[service],
      }),
    };
    // Nothing to do and a snapshot the same as the running supervisor's: it has nothing to
    // reread, and is only started when none runs (a no-op `up` is observation, nothing else).
    // Otherwise the supervisor is told once the walk is done (afterUp), and one that does not
    // run is started then: socket-activated, not waited for (supervisor/activation.ts), with the
    // DNS listeners on the bridges the walk made.
    let starting: Promise<unknown> = Promise.resolve();
    let unchanged = false;
    // Stops change nothing of the project as applied (the supervisor learns of them from the
    // records): the snapshot is left as it is, not rewritten from the project this run was given.
    if (supervised && !stopsOnly(plan)) {
      unchanged = !(await writeSnapshot(roots, full, ipam)) && plan.operations.length === 0;
      if (unchanged) starting = env.supervisor.ensure(project.name, { unchanged: true }).catch((e: unknown) => e);
    }

    let pendingCreates = creates;
    loaded = await loading;
    await preparing;
    if (options.renewAnonVolumes === true) await loaded?.renewNewServicesVolumes(ctx, plan);
    const handlers: Handlers = loaded?.handlersFor(ctx) ?? {};
    const wrapped: Handlers = {
      ...handlers,
      'create-network': async (op, context) => {
        try {
          await handlers['create-network']!(op, context);
        } finally {
          if (--pendingCreates === 0) await ipamLock?.release();
        }
      },
    };
    mark('apply: walking');
    // A stop the walker skips never begins: the stops together stop waiting for it.
    const sink = options.sink ?? nullSink;
    const told: EventSink = {
      emit(event) {
        if (event.type === 'operation-skipped') together.skipped(event.id);
        sink.emit(event);
      },
    };
    const walkOptions = { sink: told, ...(options.signal && { signal: options.signal }) };
    const walked = await walk(plan, withCrashHook(wrapped, ctx), { ...walkOptions, concurrency, late: lateDependencies(plan) });
    await ipamLock?.release();
    ipamLock = undefined;
    // A firewall rewrite create-network left running (handlers/firewall.ts) that failed after
    // every start: the run failed all the same.
    const firewall = await loaded?.firewallWritten(ctx).then(() => undefined, (e: unknown) => e);
    // A supervisor stop-supervisor told to stop is gone before the run ends (handlers/project.ts).
    const supervisorExit = await ctx.supervisorExit.current?.then(() => undefined, (e: unknown) => e);
    const late = [...lateFailure(plan, 'create-network', firewall, walked), ...lateFailure(plan, 'stop-supervisor', supervisorExit, walked)];
    const result = late.length === 0 ? walked : { ...walked, failed: [...walked.failed, ...late] };

    mark('apply: walked');
    const early = await starting;
    mark('apply: supervisor up');
    if (early instanceof Error && !options.signal?.aborted) throw early; // an error only from the no-op's ensure above
    if (supervised && !unchanged && !options.signal?.aborted) await afterUp(ctx, plan, kernel);
    mark('apply: supervisor told');
    // A wait cut short by the cancellation (Ctrl-C) is not a failure of its own.
    const cancelled = (e: unknown): boolean => options.signal?.aborted === true && e instanceof Error && e.name === 'AbortError';
    const failed = result.failed.filter((f) => !cancelled(f.error));
    if (failed.length) throw failure({ ...result, failed });
    return { walk: result, notices };
  } finally {
    applied = true;
    await preparing;
    const prepared = loaded ?? (await loading?.catch(() => undefined));
    // The start side as the walk's handlers loaded it, when this run's own load of it failed.
    const start = (await startLoading?.catch(() => undefined)) ?? (startLoading ? await loaded?.loadStartSide().catch(() => undefined) : undefined);
    for (const service of startedServices(plan)) start?.discardPreparedLauncher(project.name, service);
    prepared?.discardPreparedLinkDeletion();
    if (prepares) env.supervisor.release?.(project.name);
    await ipamLock?.release();
    network?.close();
  }
}

/**
 * Which dependencies of `plan`'s operations are late (walk.ts): a start's on other starts (it
 * prepares while they launch); a stop's on the stops of the services that depend on it, and in a
 * teardown a veth's or a network's removal on the stops: each begins once their processes are
 * gone (handlers/stop.ts), while the stops end (a killed init's exit, its exit record, its record:
 * in a depends_on chain one after another, and a `down`'s link deletion is a wait for the
 * kernel). Such a stop or removal, begun, goes on when the stop then fails: its processes are gone.
 */
export function lateDependencies(plan: Plan): (op: Operation, dependency: Operation) => boolean {
  const teardown = isTeardown(plan);
  return (op, dependency) =>
    (op.kind === 'start-service' && dependency.kind === 'start-service') ||
    (op.kind === 'stop-service' && dependency.kind === 'stop-service') ||
    (teardown && (op.kind === 'detach-veth' || op.kind === 'remove-network') && dependency.kind === 'stop-service');
}

/** Whether `plan` takes the whole project down (`down`: its run folder goes last), nothing started again. */
function isTeardown(plan: Plan): boolean {
  return plan.operations.some((op) => op.kind === 'remove-project') && !plan.operations.some((op) => op.kind === 'start-service');
}

/**
 * The stop-service operations of a teardown, whose last steps wait for one another
 * (RunContext.stopsTogether): a stop's dependents need only its processes gone (its dependency
 * is late, lateDependencies), so the wait holds up nothing but what waits for every stop anyway.
 * None in any other plan.
 */
export function teardownStops(plan: Plan): ReadonlySet<string> {
  if (!isTeardown(plan)) return new Set();
  return new Set(plan.operations.filter((op) => op.kind === 'stop-service').map((op) => op.id));
}

/** How many host links `plan` deletes in its batches at most (handlers/netns.ts deleteLinkBatched): one a veth's detach or a network's removal. */
function linkDeletions(plan: Plan): number {
  return plan.operations.filter((op) => op.kind === 'detach-veth' || op.kind === 'remove-network').length;
}

/** The services `plan` starts a process for. */
function startedServices(plan: Plan): string[] {
  return plan.operations.flatMap((op) => (op.kind === 'start-service' ? [op.service] : []));
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
 * Nor for a service this plan started: it wrote them from this run's project and allocation,
 * which are what a rewrite would write (20 services: 60 files read and compared for nothing).
 * The supervisor rereads meanwhile: it reads none of these files.
 */
async function afterUp(ctx: RunContext, plan: Plan, kernel: () => Kernel): Promise<void> {
  const told = ctx.env.supervisor.ensure(ctx.project.name, processesOnly(plan) ? { soon: true } : undefined);
  try {
    if (!processesOnly(plan)) {
      const started = new Set(startedServices(plan));
      const { records } = await serviceRecords.list(ctx.roots, ctx.project.name);
      const others = records.filter((r) => r.process && ctx.project.services[r.service] && !started.has(r.service));
      await Promise.all(others.map((r) => kernel().writeNameFiles(ctx, r.service)));
    }
  } finally {
    await told;
  }
}

/**
 * A failure that showed after the walk (`error`, undefined for none: a firewall rewrite's, on the
 * first create-network; a supervisor's exit, on stop-supervisor), unless the walk reported it.
 */
function lateFailure(plan: Plan, kind: Operation['kind'], error: unknown, walked: WalkResult): WalkResult['failed'] {
  if (error === undefined || walked.failed.some((f) => f.error === error)) return [];
  const op = plan.operations.find((o) => o.kind === kind);
  return op === undefined ? [] : [{ op, error }];
}

/** Whether `plan` (not empty) gives no address: no network made, no veth attached, no service started. */
function givesNoAddress(plan: Plan): boolean {
  return plan.operations.length > 0 && plan.operations.every((op) => op.kind !== 'create-network' && op.kind !== 'attach-veth' && op.kind !== 'start-service');
}

/** Whether `plan` (not empty) only stops services, and perhaps the supervisor. */
function stopsOnly(plan: Plan): boolean {
  return plan.operations.length > 0 && plan.operations.every((op) => op.kind === 'stop-service' || op.kind === 'stop-supervisor');
}

/** Whether `plan` only stops and starts processes (restart, stop, start, a watch action): no address or membership changes. */
function processesOnly(plan: Plan): boolean {
  return plan.operations.every((op) => op.kind === 'stop-service' || op.kind === 'start-service');
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
  return new OperationFailure(`${message} (${op.id})`, what, { cause: error });
}
