// The project as the last `up` applied it, kept in its run folder: the per-project supervisor
// (a separate process) reads it to know the services' ports, healthchecks, restart policies and
// addresses; `stack down` removes it with the rest of the run folder.
import { join } from 'node:path';
import type { IpamRecord } from '../network/ipam.js';
import type { Project } from '../spec/project.js';
import { chmodSync, readFileSync } from 'node:fs';
import { jsonText, readJsonSync, writeRuntimeJsonSync } from './atomic.js';
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
  // Synchronous (a runtime file, atomic.ts): apply starts the supervisor right after it.
  let before: string | undefined;
  try {
    before = readFileSync(path, 'utf8');
  } catch {
    before = undefined;
  }
  if (before !== undefined && before === jsonText(snapshot)) return false;
  writeRuntimeJsonSync(path, snapshot);
  chmodSync(projectRunDir(roots, project.name), STATE_DIR_MODE); // a folder an earlier version made 0755
  return true;
}

/** The snapshot of `project`, or undefined when none was written (or it is unreadable). */
export async function readSnapshot(roots: StateRoots, project: string): Promise<ProjectSnapshot | undefined> {
  try {
    const value = readJsonSync(snapshotPath(roots, project)) as ProjectSnapshot | undefined;
    return value?.version === 1 ? value : undefined;
  } catch {
    return undefined;
  }
}
