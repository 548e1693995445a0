// The project as the last `up` applied it, kept in its run folder: the per-project supervisor
// (a separate process) reads it to know the services' ports, healthchecks, restart policies and
// addresses; `stack down` removes it with the rest of the run folder.
import { join } from 'node:path';
import type { IpamRecord } from '../network/ipam.js';
import type { Project } from '../spec/project.js';
import { readJson, writeJsonAtomic } from '../state/atomic.js';
import { projectRunDir, type StateRoots } from '../state/paths.js';

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

/** Writes the snapshot (atomically: a reader sees the old one or the new one). */
export function writeSnapshot(roots: StateRoots, project: Project, ipam: IpamRecord): Promise<void> {
  const snapshot: ProjectSnapshot = { version: 1, project, ipam };
  return writeJsonAtomic(snapshotPath(roots, project.name), snapshot);
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
