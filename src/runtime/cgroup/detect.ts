// Which cgroup hierarchy stack drives on this host, decided at run time (docs/architecture.md "Kernel
// facts"): v2 only where the unified hierarchy offers memory, pids and cpu and they can be
// enabled for children; otherwise v1 when memory, pids, cpu, cpuacct and freezer are mounted;
// otherwise a UserError saying what was found. Hybrid hosts (this one) mount cgroup2 with
// nothing useful in it and land on v1.
import { unescapeMountField } from '../../sys/mountinfo.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../errors.js';
import { readValue } from './io.js';
import type { CgroupDeps } from './manager.js';
import { V1_CONTROLLERS, type V1Roots } from './v1.js';
import { V2_CONTROLLERS, enableControllers } from './v2.js';

/** Where the hierarchies are mounted, read from /proc/self/mountinfo. */
export interface CgroupMounts {
  /** Mount point of the cgroup2 (unified) hierarchy, when mounted. */
  readonly unified?: string;
  /** Mount point of each mounted v1 controller (`cpu` and `cpuacct` may share one). */
  readonly v1: ReadonlyMap<string, string>;
}

/** The hierarchy to use and where it is. */
export type CgroupLayout =
  | { readonly version: 2; readonly root: string; readonly notes: readonly string[] }
  | { readonly version: 1; readonly roots: V1Roots; readonly notes: readonly string[] };


/** Parses /proc/self/mountinfo text for cgroup and cgroup2 mounts (the first mount of each wins). */
export function parseCgroupMounts(mountinfo: string): CgroupMounts {
  let unified: string | undefined;
  const v1 = new Map<string, string>();
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const mountPoint = left.split(' ')[4];
    const [fstype, , superOptions = ''] = right.split(' ');
    if (!mountPoint) continue;
    if (fstype === 'cgroup2') unified ??= unescapeMountField(mountPoint);
    if (fstype !== 'cgroup') continue;
    for (const option of superOptions.split(',')) {
      if ([...V1_CONTROLLERS, 'cpuset'].includes(option) && !v1.has(option)) v1.set(option, unescapeMountField(mountPoint));
    }
  }
  return { ...(unified !== undefined && { unified }), v1 };
}

/** Why the unified hierarchy cannot be used, or undefined when it can (its controllers then enabled at its root). */
async function v2Unusable(deps: CgroupDeps, root: string): Promise<string | undefined> {
  let available: string[];
  try {
    available = (await readValue(deps.fs, join(root, 'cgroup.controllers'))).split(/\s+/).filter(Boolean);
  } catch (e) {
    return `cgroup2 at ${root}: ${(e as Error).message}`;
  }
  const missing = V2_CONTROLLERS.filter((c) => !available.includes(c));
  if (missing.length > 0) {
    return `cgroup2 at ${root} lacks ${missing.join(', ')} (it has: ${available.join(' ') || 'nothing'})`;
  }
  try {
    await enableControllers(deps, root);
  } catch (e) {
    return `cgroup2 at ${root}: cannot enable ${V2_CONTROLLERS.join(', ')} for children: ${(e as Error).message}`;
  }
  return undefined;
}

/** Chooses v2 or v1 from the mounts, explaining each rejection in `notes`; UserError when neither works. */
export async function detectCgroups(deps: CgroupDeps, mountinfo?: string): Promise<CgroupLayout> {
  const mounts = parseCgroupMounts(mountinfo ?? readFileSync('/proc/self/mountinfo', 'utf8'));
  const notes: string[] = [];
  if (mounts.unified !== undefined) {
    const why = await v2Unusable(deps, mounts.unified);
    if (why === undefined) return { version: 2, root: mounts.unified, notes };
    notes.push(why);
  } else {
    notes.push('cgroup2 is not mounted');
  }
  const missing = V1_CONTROLLERS.filter((c) => !mounts.v1.has(c));
  if (missing.length === 0) {
    const cpuset = mounts.v1.get('cpuset');
    const roots = { ...Object.fromEntries(V1_CONTROLLERS.map((c) => [c, mounts.v1.get(c)])), ...(cpuset !== undefined && { cpuset }) } as unknown as V1Roots;
    return { version: 1, roots, notes };
  }
  notes.push(`cgroup v1 lacks ${missing.join(', ')}`);
  throw new UserError(
    'CGROUP_UNAVAILABLE',
    `no usable cgroup hierarchy: ${notes.join('; ')}`,
    `stack limits services with cgroup v2 (controllers ${V2_CONTROLLERS.join(', ')}) or cgroup v1 (${V1_CONTROLLERS.join(', ')} mounted); ` +
      'mount them (systemd does by default) and run stack as root',
  );
}
