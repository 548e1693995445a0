// Where stack keeps its state (docs/architecture.md "Names and places"): runtime records under
// /run/stack/<project>/ (gone with the boot where /run is a tmpfs), persistent data under
// /var/lib/stack/. STACK_ROOT=<dir> moves both: <dir>/run/<project> and <dir>/lib (tests).
// Folders are 0700 and records 0600, root's alone: the snapshot holds every service's environment.
import { isAbsolute, join, resolve } from 'node:path';
import { UserError } from '../errors.js';

/** The two roots of all state. */
export interface StateRoots {
  /** Holds one runtime folder per project. */
  readonly run: string;
  /** Persistent: named volumes and their records. */
  readonly lib: string;
}

/** Mode of every state folder stack makes: records and logs hold environment values (secrets). */
export const STATE_DIR_MODE = 0o700;
/** Mode of every record file: the snapshot holds every service's environment. */
export const RECORD_FILE_MODE = 0o600;

/** Where named network namespaces are bind-mounted (the kernel's convention, not moved by STACK_ROOT). */
export const NETNS_DIR = '/run/netns';

/** The roots for this environment: STACK_ROOT when set, else the system places. */
export function stateRoots(env: NodeJS.ProcessEnv = process.env): StateRoots {
  const root = env.STACK_ROOT;
  if (root === undefined || root === '') return { run: '/run/stack', lib: '/var/lib/stack' };
  const base = isAbsolute(root) ? root : resolve(root);
  return { run: join(base, 'run'), lib: join(base, 'lib') };
}

/** A project, service, network or volume name used as one path segment, refused when it is not one. */
function segment(kind: string, name: string): string {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    const message = `${kind} name ${JSON.stringify(name)} cannot name a state file`;
    throw new UserError('STATE_BAD_NAME', message, 'use letters, digits, "-", "_" or "."');
  }
  return name;
}

/** Runtime folder of one project: records, lock, sockets. */
export function projectRunDir(roots: StateRoots, project: string): string {
  return join(roots.run, segment('project', project));
}

/** Persistent folder of one project's records (volumes). */
export function projectLibDir(roots: StateRoots, project: string): string {
  return join(roots.lib, 'projects', segment('project', project));
}

/**
 * The persistent folder of one image service's writable root (its overlayfs `upper` and `work`):
 * on disk beside the volumes, kept across restarts, removed when the service is recreated or `down`.
 */
export function serviceRootDir(roots: StateRoots, project: string, service: string): string {
  return join(projectLibDir(roots, project), 'roots', segment('service', service));
}

/** Record of one service (runtime). */
export function serviceRecordPath(roots: StateRoots, project: string, service: string): string {
  return join(projectRunDir(roots, project), 'services', `${segment('service', service)}.json`);
}

/** Record of one network (runtime). */
export function networkRecordPath(roots: StateRoots, project: string, network: string): string {
  return join(projectRunDir(roots, project), 'networks', `${segment('network', network)}.json`);
}

/** Record of one volume (persistent: volumes outlive reboots and `down`). */
export function volumeRecordPath(roots: StateRoots, project: string, volume: string): string {
  return join(projectLibDir(roots, project), 'volumes', `${segment('volume', volume)}.json`);
}

/** The folder holding a volume's data, by its full name (`<project>_<key>`). */
export function volumeDataDir(roots: StateRoots, volumeName: string): string {
  return join(roots.lib, 'volumes', segment('volume', volumeName));
}
