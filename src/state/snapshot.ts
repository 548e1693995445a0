// The project as the last `up` applied it, kept in its run folder: the per-project supervisor
// (a separate process) reads it to know the services' ports, healthchecks, restart policies and
// addresses; `stack down` removes it with the rest of the run folder.
import { join } from 'node:path';
import type { IpamRecord } from '../network/ipam.js';
import type { Project } from '../spec/project.js';
import { chmod, readFile } from 'node:fs/promises';
import { jsonText, readJson, writeJsonAtomic } from './atomic.js';
import { projectRunDir, STATE_DIR_MODE, type StateRoots } from './paths.js';

/** What the snapshot holds. */
export interface ProjectSnapshot {
  readonly version: 1;
  readonly project: Project;
  readonly ipam: IpamRecord;
}

/** Where the snapshot of `project` lives. */
export function snapshotPath(roots: StateRoots, project: string): string {
  return join(projectRunDir(roots, project), 'project.json');
}

/**
 * Writes the snapshot (atomically: a reader sees the old one or the new one), 0600 in a 0700
 * folder: it holds every service's environment. An unchanged one is left as it is (a restart or
 * a watch action): no write, and the supervisor sees no change.
 * Resolves whether it wrote (false: the file already said the same).
 */
export async function writeSnapshot(roots: StateRoots, project: Project, ipam: IpamRecord): Promise<boolean> {
  const snapshot: ProjectSnapshot = { version: 1, project, ipam };
  const path = snapshotPath(roots, project.name);
  const before = await readFile(path, 'utf8').catch(() => undefined);
  if (before !== undefined && before === jsonText(snapshot)) return false;
  await writeJsonAtomic(path, snapshot, { durable: false }); // a runtime file (atomic.ts)
  await chmod(projectRunDir(roots, project.name), STATE_DIR_MODE); // a folder an earlier version made 0755
  return true;
}

/** The snapshot of `project`, or undefined when none was written (or it is unreadable). */
export async function readSnapshot(roots: StateRoots, project: string): Promise<ProjectSnapshot | undefined> {
  try {
    const value = (await readJson(snapshotPath(roots, project))) as ProjectSnapshot | undefined;
    return value?.version === 1 ? value : undefined;
  } catch {
    return undefined;
  }
}
