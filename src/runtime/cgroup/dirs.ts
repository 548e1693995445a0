// Creating and removing the directories of a group: `stack/<project>/<service>` under a
// hierarchy root. Creating tolerates what exists (idempotent create); removing treats what is
// gone as removed (CNI DEL), kills what still runs in a busy group, retries while tasks exit,
// and leaves the project's dir to the last service and `stack/` to everyone.
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { AggregateStackError, KernelError, UserError } from '../../errors.js';
import { cgroupPath, parseReplicaKey } from '../../names.js';
import { isCgroupFileName } from '../../cgroup-files.js';
import { errorCode, type CgroupFs } from './fs.js';
import { kernelError } from './io.js';
import type { Limits } from '../../spec/project.js';
import type { CgroupDeps, CgroupHandle } from './manager.js';
import { DEFAULT_DEVICE_RULES, type DeviceRule } from './devices.js';
import { pollUntil } from './poll.js';

/**
 * `stack/<project>[/<service>]`, refusing names that would leave that tree or that name one of
 * the kernel's interface files (a bug upstream: the spec refuses both on load).
 */
export function groupRel(project: string, service?: string): string {
  // A replica 2..N of a scaled service is `<service>#<index>` (names.ts replicaKey).
  for (const name of service === undefined ? [project] : [project, parseReplicaKey(service)?.service ?? service]) {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name) || isCgroupFileName(name))
      throw new Error(`not a valid cgroup name: ${JSON.stringify(name)}`);
  }
  return cgroupPath(project, service);
}

/**
 * mkdir that accepts an existing dir (a group already made) and explains a permission error;
 * an existing file of that name (one of the kernel's interface files) is an error. True when
 * it made the dir.
 */
async function mkdirOnce(fs: CgroupFs, dir: string): Promise<boolean> {
  try {
    await fs.mkdir(dir, 0o755);
    return true;
  } catch (e) {
    const code = errorCode(e);
    if (code === 'EEXIST') {
      if (await fs.isDirectory(dir)) return false;
      throw new UserError(
        'CGROUP_NAME',
        `cannot create cgroup ${dir}: the kernel keeps a file of that name there`,
        'rename the service or project: `tasks`, `notify_on_release`, `release_agent` and `<controller>.<anything>` (memory.max, cgroup.procs, ...) name cgroup interface files',
        { cause: e },
      );
    }
    if (code === 'EACCES' || code === 'EPERM') {
      throw new UserError('CGROUP_PERMISSION', `cannot create cgroup ${dir}: ${code}`, 'stack creates cgroups for its services and must run as root', {
        cause: e,
      });
    }
    throw kernelError(`mkdir ${dir}`, e);
  }
}

/**
 * Creates `root/<rel>` one level at a time; `prepare` runs on each level above the leaf once
 * it exists (v2 enables controllers for the level below there). A sibling's teardown may
 * remove a parent between two mkdirs (ENOENT): the chain is then walked again, from the top.
 * A level above the leaf that this process made or found, and prepared the same way, is not made
 * or prepared again (the `stack` and project levels, shared by every service: profiled in an
 * `up -d` of 20, the EEXISTs and the parent listings that check them were ~10 ms of the CLI's
 * thread, and v1's cpuset levels cost four reads each besides), nor while another chain of this
 * process makes it (strace of an `up -d` of 20: the first starts, side by side, each met the
 * `stack` and project levels' EEXIST, 12-16 per hierarchy); one that went meanwhile shows as
 * the leaf's ENOENT, and the walk again from the top makes it. `prepared` names what `prepare`
 * does, so a chain prepared otherwise walks those levels again; a level a chain makes anew is
 * forgotten under every other name (it went meanwhile: nothing of theirs is on it). A `prepare`
 * without a name runs every time: one another process's chain may leave undone (v2's cpuset
 * controller, enabled only for a service with `cpuset:`).
 */
export async function mkdirChain(
  fs: CgroupFs,
  root: string,
  rel: string,
  prepare?: (dir: string) => Promise<void>,
  prepared?: string,
): Promise<string> {
  const parts = rel.split('/');
  let ready = readyLevels.get(fs);
  if (ready === undefined) readyLevels.set(fs, (ready = new Set()));
  let making = levelsMaking.get(fs);
  if (making === undefined) levelsMaking.set(fs, (making = new Map()));
  const remembered = prepare === undefined || prepared !== undefined;
  const key = (dir: string): string => `${prepare === undefined ? '' : `${prepared}:`}${dir}`;
  for (let attempt = 0; ; attempt++) {
    try {
      let dir = root;
      for (const [i, part] of parts.entries()) {
        dir = join(dir, part);
        if (i === parts.length - 1) {
          await mkdirOnce(fs, dir);
          continue;
        }
        const k = key(dir);
        if (remembered && attempt === 0) {
          if (ready.has(k)) continue;
          // Another chain of this process is making it (the first starts of an `up` run side by
          // side): its making is this one's too, not an EEXIST and a look of its own.
          const other = making.get(k);
          if (other !== undefined) {
            await other;
            continue;
          }
        }
        const level = makeLevel(fs, dir, ready, prepare, remembered ? k : undefined);
        if (remembered) making.set(k, level);
        try {
          await level;
        } finally {
          if (making.get(k) === level) making.delete(k);
        }
      }
      return dir;
    } catch (e) {
      if (attempt < 3 && e instanceof KernelError && e.errno === 'ENOENT') {
        // Every way it was prepared: the level is made again from the top.
        let dir = root;
        for (const part of parts) forget(ready, (dir = join(dir, part)));
        continue;
      }
      throw e;
    }
  }
}

/** Makes (or finds) one level above a leaf and prepares it; `remember`: the key it is then ready under. */
async function makeLevel(
  fs: CgroupFs,
  dir: string,
  ready: Set<string>,
  prepare: ((dir: string) => Promise<void>) | undefined,
  remember: string | undefined,
): Promise<void> {
  // Made now: prepared by no one yet, however it was remembered before its removal.
  if (await mkdirOnce(fs, dir)) forget(ready, dir);
  if (prepare) await prepare(dir);
  if (remember !== undefined) ready.add(remember);
}

/** The levels each cgroup file system is making and preparing now, by mkdirChain's key: chains side by side wait for the one making it. */
const levelsMaking = new WeakMap<CgroupFs, Map<string, Promise<void>>>();

/** The levels above a leaf each cgroup file system has made or found (and prepared, under the preparation's name) in this process (mkdirChain). */
const readyLevels = new WeakMap<CgroupFs, Set<string>>();

/** Forgets level `dir` however it was prepared (it went, or was made anew). */
function forget(ready: Set<string>, dir: string): void {
  for (const k of [...ready]) if (k === dir || k.endsWith(`:${dir}`)) ready.delete(k);
}

/** rmdir: true when removed or already gone, false while busy (processes or children). */
export async function rmdirOnce(fs: CgroupFs, dir: string): Promise<boolean> {
  try {
    await fs.rmdir(dir);
    return true;
  } catch (e) {
    const code = errorCode(e);
    if (code === 'ENOENT') return true;
    if (code === 'EBUSY' || code === 'ENOTEMPTY') return false;
    throw kernelError(`rmdir ${dir}`, e);
  }
}

/** rmdirOnce of each dir; the ones still busy, and the failures pushed onto `errors`. */
async function rmdirEach(fs: CgroupFs, dirs: readonly string[], errors: Error[]): Promise<string[]> {
  const busy: string[] = [];
  for (const dir of dirs) {
    try {
      if (!(await rmdirOnce(fs, dir))) busy.push(dir);
    } catch (e) {
      errors.push(e as Error);
    }
  }
  return busy;
}

/** Removes each parent dir that is empty; busy (another service's group is in it) is no error. */
export async function removeEmptyParents(fs: CgroupFs, parents: readonly string[]): Promise<void> {
  const errors: Error[] = [];
  await rmdirEach(fs, parents, errors);
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateStackError(`removing cgroup ${parents.join(', ')}`, errors);
}

/**
 * Removes a group's leaf dirs, killing its processes first if a leaf is busy, then each
 * parent dir that became empty (none given: left to the caller). Every failure is collected
 * and reported together.
 */
export async function removeGroup(
  deps: CgroupDeps,
  leaves: readonly string[],
  parents: readonly string[],
  killAll: () => Promise<void>,
): Promise<void> {
  const errors: Error[] = [];
  const attempt = (dirs: readonly string[]): Promise<string[]> => rmdirEach(deps.fs, dirs, errors);
  let busy = await attempt(leaves);
  if (busy.length > 0) {
    try {
      await killAll();
    } catch (e) {
      errors.push(e as Error);
    }
    // Killed tasks leave the group as they finish exiting; rmdir is EBUSY until then.
    await pollUntil(async () => (busy = await attempt(busy)).length === 0, deps.sleep);
    for (const dir of busy) errors.push(new KernelError(`rmdir ${dir}`, 'EBUSY', osConstants.errno.EBUSY));
  }
  // Another service of the project may still use its dir: busy there is not an error.
  await attempt(parents);
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateStackError(`removing cgroup ${leaves.join(', ')}`, errors);
}

/** Child groups of a dir; none when the dir is gone. */
export async function childGroups(deps: CgroupDeps, dir: string): Promise<string[]> {
  try {
    return (await deps.fs.subdirs(dir)).sort();
  } catch (e) {
    if (errorCode(e) === 'ENOENT') return [];
    throw kernelError(`list ${dir}`, e);
  }
}

/**
 * Makes a group's dirs and writes its limits and device rules (before any process joins). A
 * group this call created is removed again when that fails, so a failed create leaves nothing;
 * a group that was (even partly) there is left.
 */
export async function createGroup(
  deps: CgroupDeps,
  group: CgroupHandle,
  limits: Limits,
  makeDirs: () => Promise<void>,
  devices: readonly DeviceRule[] = DEFAULT_DEVICE_RULES,
): Promise<CgroupHandle> {
  let existed = false;
  for (const dir of group.dirs) existed ||= await deps.fs.exists(dir);
  try {
    await makeDirs();
    await group.setLimits(limits, { fresh: !existed });
    await group.setDevices(devices);
  } catch (e) {
    if (!existed) await group.destroy().catch(() => undefined);
    throw e;
  }
  return group;
}
