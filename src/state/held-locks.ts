// The project locks this process holds now (lock.ts adds and removes them), apart from lock.ts
// so that a reader such as observe (`stack ps`) asks without loading flock through koffi.
import { join } from 'node:path';
import { projectRunDir, type StateRoots } from './paths.js';

/** Paths of the locks this process holds now (observe adopts and kills only under its project's lock). */
export const heldHere = new Set<string>();

/** The project's lock file. */
export function lockPath(roots: StateRoots, project: string): string {
  return join(projectRunDir(roots, project), 'lock');
}

/** Whether this process holds the project's lock now. */
export function holdsProjectLock(roots: StateRoots, project: string): boolean {
  return heldHere.has(lockPath(roots, project));
}
