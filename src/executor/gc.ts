// `stack gc`: removes what a crash or a cut-off test run left of projects nobody runs any more.
// Only objects with the project prefixes (src/names.ts), and only for a project that nothing
// holds: not locked by an `up`/`down`, no supervisor, no live process in its records or its
// cgroups. For such a project, what its records claim goes the way `down` removes it, then
// whatever still carries its names: netns `stk-<project>.*`, links whose alias names it, its
// cgroups, its nftables table and iptables holes, its run folder. Never another project's:
// names are injective (src/names.ts), so an exact project matches only its own objects.
import { existsSync } from 'node:fs';
import { rm, stat } from '../sys/fs-async.js';
import { dirname } from 'node:path';
import { AggregateStackError } from '../errors.js';
import { withHandle } from '../network/handle.js';
import { linkDel, linkList, type Link } from '../network/link.js';
import { netnsDelete, netnsList } from '../network/netns.js';
import { parseOwnerAlias, projectLinkGroup } from '../network/setup.js';
import { removeFirewall } from '../network/firewall/index.js';
import { LINK_PREFIX, netnsPrefix } from '../names.js';
import { planDown } from '../planner/down.js';
import { listProjects, observe } from '../state/observe.js';
import { acquireProjectLock, projectLocked } from '../state/lock.js';
import { buildOfGroup } from '../build/run-step.js';
import { ImageStore } from '../image/store.js';
import { projectRunDir, type StateRoots } from '../state/paths.js';
import { apply } from './apply.js';
import { removeMonitorGroup, type CgroupManager } from '../runtime/control.js';
import type { ExecutorEnv } from './context.js';
import { killProcess, supervisorProcesses, type SupervisorProcess } from './supervisor-procs.js';
import { snapshotPath } from '../state/snapshot.js';
import { emptyProject } from './stop-plan.js';


/** Whether the supervisor's project still has its snapshot (what `up` writes, `down` removes). */
function hasSnapshot(s: SupervisorProcess): boolean {
  return existsSync(snapshotPath({ run: s.run, lib: '' }, s.project));
}

/** Whether the group `name` is a RUN step (`build-<id>`) of a build that still runs: its lock in the image store is held. */
async function buildRunning(roots: StateRoots, name: string): Promise<boolean> {
  const id = buildOfGroup(name);
  if (id === undefined) return false;
  const store = ImageStore.forRoots(roots);
  if (!existsSync(store.layerLockPath(`sha256:${id}`))) return false; // a running build has its lock file
  const lock = await store.tryBuildLock(id).catch(() => null); // unreadable: not a running build's
  await lock?.release();
  return lock === undefined;
}

/** What gc did with one project. */
export interface GcOutcome {
  readonly project: string;
  /** `live` (left alone, with the reason) or `collected` (with what was removed). */
  readonly status: 'live' | 'collected';
  readonly detail: readonly string[];
}

/** The projects gc looks at when none is named: those with state here or cgroups anywhere. */
export async function gcCandidates(roots: StateRoots, cgroups: CgroupManager): Promise<string[]> {
  return [...new Set([...(await listProjects(roots)), ...(await cgroups.projects())])].sort();
}

/**
 * Why `project` counts as live, or undefined when nothing holds it. A project the user names is
 * held only by a lock or a supervisor (its services may run: a crashed `up` leaves them); one gc
 * found by itself is also held by any live process of it.
 */
async function liveReason(
  project: string,
  env: ExecutorEnv & { roots: StateRoots },
  cgroups: CgroupManager,
  running: (p: string) => Promise<boolean>,
  named: boolean,
): Promise<string | undefined> {
  if (projectLocked(env.roots, project)) return 'a stack command holds its lock';
  if (await running(project)) return 'its supervisor runs';
  const elsewhere = supervisorProcesses().filter((s) => s.project === project && s.run !== env.roots.run && hasSnapshot(s));
  if (elsewhere.length) return `its supervisor runs for the state root ${dirname(elsewhere[0]!.run)}`;
  if (named) return undefined;
  const live = await observe(project, { roots: env.roots });
  const alive = Object.values(live.services).filter((s) => s.process?.alive).map((s) => s.name);
  if (alive.length) return `services running: ${alive.join(', ')}`;
  const known = Object.keys(live.services).length + Object.keys(live.networks).length > 0;
  for (const service of await cgroups.services(project)) {
    const group = cgroups.open(project, service);
    if ((await group.pids()).length) return `processes in cgroup of ${service}`;
    // Known only from the kernel and made moments ago: maybe a run of another state root, starting.
    const age = Date.now() - ((await stat(dirname(group.dirs[0] ?? '/')).catch(() => undefined))?.mtimeMs ?? 0);
    if (!known && age < RECENT_MS) return `its cgroups were made ${Math.round(age / 1000)} s ago by a run this state root does not know (name it to collect it)`;
  }
  return undefined;
}

/** How old an unknown project's cgroups must be before a gc that was not told its name takes it. */
const RECENT_MS = 5 * 60 * 1000;

/**
 * Collects every project of `names` that nothing holds. `running(project)` says whether its
 * supervisor runs; `named`: the user named the projects (see liveReason). Touches only the
 * objects of the projects collected.
 */
export async function collectGarbage(
  names: readonly string[],
  env: ExecutorEnv & { roots: StateRoots },
  cgroups: CgroupManager,
  running: (project: string) => Promise<boolean>,
  named: boolean,
): Promise<GcOutcome[]> {
  const outcomes: GcOutcome[] = [];
  const dead: string[] = [];
  for (const name of names) {
    const reason = await liveReason(name, env, cgroups, running, named);
    if (reason) {
      outcomes.push({ project: name, status: 'live', detail: [reason] });
    } else dead.push(name);
  }
  for (const project of dead) outcomes.push({ project, status: 'collected', detail: await collect(project, env, cgroups) });
  return outcomes;
}

/**
 * A link of `project`: its alias names the project (the device group is a 31-bit hash two
 * projects may share); a link without an alias (made before aliases) by its group.
 */
function ownedLink(link: Link, project: string): boolean {
  if (!link.name.startsWith(LINK_PREFIX)) return false;
  const owner = parseOwnerAlias(link.alias);
  return owner ? owner.project === project : link.alias === undefined && link.group === projectLinkGroup(project);
}

async function collect(project: string, env: ExecutorEnv & { roots: StateRoots }, cgroups: CgroupManager): Promise<string[]> {
  const removed: string[] = [];
  const errors: Error[] = [];
  const attempt = async (what: string, fn: () => unknown): Promise<void> => {
    try {
      if ((await fn()) !== false) removed.push(what);
    } catch (e) {
      errors.push(e instanceof Error ? e : new Error(`${what}: ${String(e)}`));
    }
  };
  const lock = await acquireProjectLock(env.roots, project, { command: 'stack gc', wait: false });
  try {
    const live = await observe(project, { roots: env.roots });
    const down = planDown(live, { volumes: false });
    const recorded = down.operations.filter((op) => op.kind !== 'stop-supervisor' && op.kind !== 'remove-project').length;
    if (recorded) await attempt(`${recorded} recorded objects`, () => apply(down, emptyProject(project), { env, live }));
    // `stk-<project>.`: a project name holds no `.`, so no other project's netns starts so.
    const prefix = netnsPrefix(project);
    for (const ns of netnsList()) {
      if (ns.startsWith(prefix)) await attempt(`netns ${ns}`, () => netnsDelete(ns));
    }
    const links = withHandle(undefined, (h) => linkList(h)).filter((l) => ownedLink(l, project));
    for (const link of links) await attempt(`link ${link.name}`, () => withHandle(undefined, (h) => linkDel(h, link.name)));
    for (const service of await cgroups.services(project)) {
      if (await buildRunning(env.roots, service)) continue; // a build's step (src/build): its build holds its lock
      await attempt(`cgroup stack/${project}/${service}`, () => cgroups.open(project, service).destroy());
    }
    await attempt(`firewall of ${project}`, async () => void (await removeFirewall(project, env.firewallTarget)));
    await env.supervisor.stop(project);
    // A supervisor whose project state is gone (a cut-off test run): nothing else can stop it.
    for (const orphan of supervisorProcesses().filter((s) => s.project === project && !hasSnapshot(s))) {
      await attempt(`supervisor pid ${orphan.pid}`, () => killProcess(orphan.pid, orphan.startTime));
    }
    await attempt(`monitor cgroup of ${project}`, () => removeMonitorGroup(project));
  } finally {
    await lock.release();
  }
  const left = await observe(project, { roots: env.roots });
  if (Object.keys(left.services).length === 0 && Object.keys(left.networks).length === 0) {
    await rm(projectRunDir(env.roots, project), { recursive: true, force: true });
  }
  if (errors.length) throw new AggregateStackError(`stack gc of project ${project}`, errors);
  return removed;
}
