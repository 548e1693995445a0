// One restart of an exited service, made under the project lock so it never races `up` or
// `down` (they may be stopping or replacing it on purpose). Once the lock is held, the record
// must still name the exited process and no stop mark may name it; then the service is
// relaunched, its restart count and the record updated. Returns what happened, for the loop.
import type { CgroupManager } from '../runtime/index.js';
import { UserError } from '../errors.js';
import type { Project, Service } from '../spec/project.js';
import { acquireProjectLock } from '../state/lock.js';
import type { StateRoots } from '../state/paths.js';
import { serviceRecords, updateServiceRecord } from '../state/records.js';
import { readRestarts, readStopMark, sameProcess, writeFile, type ProcessId, type RestartRecord } from './files.js';
import { serviceStatePaths } from './paths.js';
import { relaunch } from './relaunch.js';
import { backoffMs } from './restart-policy.js';
import type { ExitRecord } from '../state/exit-record.js';

/** What a restart attempt came to. */
export type RestartOutcome =
  /** `up`/`down` hold the lock: try again at the next tick. */
  | { readonly kind: 'locked' }
  /** The record no longer names that process (replaced or stopped meanwhile): nothing to do. */
  | { readonly kind: 'moot' }
  /** The user stopped that process: never restarted. */
  | { readonly kind: 'stopped' }
  /** The launch failed: try again at `retryAt`. */
  | { readonly kind: 'failed'; readonly error: string; readonly retryAt: number }
  | { readonly kind: 'restarted'; readonly process: ProcessId; readonly restarts: number };

/** Where and what to restart. */
export interface RestartRequest {
  readonly roots: StateRoots;
  readonly project: Project;
  readonly spec: Service;
  /** The process that exited. */
  readonly exited: ProcessId;
  /** Its exit record, as the supervisor read it when it decided the restart (the relaunch removes the file). */
  readonly exit?: ExitRecord;
  readonly bootId: string;
  readonly cgroups: () => Promise<CgroupManager>;
}

/** Restarts the service if, under the lock, that is still what the records call for. */
export async function restartExited(request: RestartRequest): Promise<RestartOutcome> {
  const { roots, spec, exited } = request;
  const project = request.project.name;
  const name = spec.name;
  let lock;
  try {
    lock = await acquireProjectLock(roots, project, { command: `stack supervisor: restart ${name}`, wait: false });
  } catch (e) {
    if (e instanceof UserError && e.code === 'LOCKED') return { kind: 'locked' };
    throw e;
  }
  try {
    const paths = serviceStatePaths(roots, project, name);
    const current = (await serviceRecords.read(roots, project, name))?.process;
    if (!sameProcess(current, exited)) return { kind: 'moot' };
    if (sameProcess(await readStopMark(paths.stopped), exited)) return { kind: 'stopped' };
    const counts = await readRestarts(paths.restarts);
    const restarts = counts?.restarts ?? 0;
    const consecutive = (counts?.consecutive ?? 0) + 1;
    const replaced = request.exit !== undefined && sameProcess(request.exit, exited) ? { lastExit: request.exit } : {};
    let relaunched;
    try {
      relaunched = await relaunch(roots, request.project, spec, await request.cgroups());
    } catch (e) {
      await writeFile(paths.restarts, { ...exited, restarts, consecutive, ...replaced } satisfies RestartRecord);
      return { kind: 'failed', error: e instanceof Error ? e.message : String(e), retryAt: Date.now() + backoffMs(consecutive) };
    }
    const { launched, monitor } = relaunched;
    const process = { pid: launched.pid, startTime: launched.startTime };
    await writeFile(paths.restarts, { ...process, restarts: restarts + 1, consecutive, ...replaced } satisfies RestartRecord);
    await updateServiceRecord(roots, project, name, request.bootId, (r) => ({
      ...r,
      process,
      monitor,
    }));
    return { kind: 'restarted', process, restarts: restarts + 1 };
  } finally {
    await lock.release().catch(() => undefined);
  }
}
