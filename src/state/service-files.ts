// Where one service's runtime files live: its /etc/hosts, /etc/hostname and /etc/resolv.conf
// (bound into its view by the launcher), its log files and its exit record. All under the
// project's run folder, so `down` removing that folder leaves nothing.
import { join } from 'node:path';
import { projectRunDir, type StateRoots } from './paths.js';

/** The paths of one service's runtime files. */
export interface ServiceFiles {
  /** The folder holding all of them. */
  readonly dir: string;
  readonly hosts: string;
  readonly hostname: string;
  readonly resolvConf: string;
  /** CRI-format log (rotated as `.1`, `.2`, ...). */
  readonly log: string;
  /** The monitor's exit record. */
  readonly exit: string;
  /** `{pid, startTime}` of a process stack is stopping on purpose, written before the signal (no restart). */
  readonly stopped: string;
}

/**
 * The folder of the marks `stack pause` leaves, one empty file per service it froze: what tells
 * `ps`, a stop and `kill` to look at that service's freezer (one listing, or one failed stat, for
 * every other service, instead of a freezer read each). Gone with the run folder at `down`.
 */
export function pausedMarksDir(roots: StateRoots, project: string): string {
  return join(projectRunDir(roots, project), 'paused');
}

/** The mark `stack pause` leaves for one service (in pausedMarksDir). */
export function pausedMarkPath(roots: StateRoots, project: string, service: string): string {
  return `${pausedMarksDir(roots, project)}/${service}`;
}

/** The runtime folder of every service of a project. */
export function runtimeRoot(roots: StateRoots, project: string): string {
  return join(projectRunDir(roots, project), 'runtime');
}

/** The runtime files of one service. */
export function serviceFiles(roots: StateRoots, project: string, service: string): ServiceFiles {
  const dir = join(runtimeRoot(roots, project), service);
  // Plain file names under a folder join normalized: appended as strings (a start asks for these
  // paths several times a service).
  return {
    dir,
    hosts: `${dir}/hosts`,
    hostname: `${dir}/hostname`,
    resolvConf: `${dir}/resolv.conf`,
    log: `${dir}/service.log`,
    exit: `${dir}/exit.json`,
    stopped: `${dir}/stopped.json`,
  };
}
