// Where the supervisor keeps its traces: one folder in the project's run folder for the
// process itself (pid file, socket, log, bound ports), and per service, next to the files
// the executor keeps for it (service-files.ts), its health and restart state and the mark
// `stack stop`/`down` leaves. All under the run folder, so `down` removing it leaves nothing.
import { sha256Hex } from '../sys/lazy-crypto.js';
import { join } from 'node:path';
import { serviceFiles } from '../state/service-files.js';
import { projectRunDir, type StateRoots } from '../state/paths.js';

/** Room for a path in a unix socket address (sun_path), its NUL included. */
const SUN_PATH_MAX = 108;

/** Whether a socket name is abstract (no file: nothing to remove). */
export function isAbstract(socket: string): boolean {
  return socket.startsWith('\0');
}

/** The supervisor's own files for one project. */
export interface SupervisorPaths {
  readonly dir: string;
  /** `{pid, startTime, bootId}` of the running supervisor. */
  readonly pidFile: string;
  /**
   * The control socket (status, reload, stop): a file in `dir`, or, when that path is too long
   * for a unix socket address (108 bytes), an abstract name of its own.
   */
  readonly socket: string;
  /** Its stdout and stderr. */
  readonly log: string;
  /** Ports bound for `hostPort: 0` entries, so a new supervisor listens on the same ones. */
  readonly ports: string;
  /** What `status` answers, written by the supervisor when it changes (PublishedStatus): `ps` reads it instead of asking. */
  readonly status: string;
  /**
   * The abstract unix socket bound as the one-supervisor-per-project mutex: the kernel frees it
   * when its holder dies, so a crash never leaves a stale lock. Keyed by the run folder's path,
   * so two state roots (tests) never share one.
   */
  readonly mutex: string;
}

/** The supervisor's paths for `project`. */
export function supervisorPaths(roots: StateRoots, project: string): SupervisorPaths {
  const dir = join(projectRunDir(roots, project), 'supervisor');
  // Hashed when asked for: only what starts a supervisor binds the mutex (`ps` loads no node:crypto).
  const key = (): string => sha256Hex(projectRunDir(roots, project)).slice(0, 32);
  const socketPath = join(dir, 'control.sock');
  return {
    dir,
    pidFile: join(dir, 'pid.json'),
    socket: socketPath.length < SUN_PATH_MAX ? socketPath : `\0stack-supervisor-control-${key()}`,
    log: join(dir, 'supervisor.log'),
    ports: join(dir, 'ports.json'),
    status: join(dir, 'status.json'),
    get mutex() {
      return `\0stack-supervisor-${key()}`;
    },
  };
}

/** Per-service state the supervisor keeps, and the user's stop mark. */
export interface ServiceStatePaths {
  /** Health of the current process (health.ts). */
  readonly health: string;
  /** Restart count and the process it applies to (restart.ts). */
  readonly restarts: string;
  /** Written by `stop`/`down` (handlers/stop.ts) before the stop signal: `{pid, startTime}` of the stopped process. */
  readonly stopped: string;
  readonly log: string;
  readonly exit: string;
  readonly dir: string;
}

/** Those files for one service (in its runtime folder). */
export function serviceStatePaths(roots: StateRoots, project: string, service: string): ServiceStatePaths {
  const files = serviceFiles(roots, project, service);
  return {
    dir: files.dir,
    health: join(files.dir, 'health.json'),
    restarts: join(files.dir, 'restarts.json'),
    stopped: files.stopped,
    log: files.log,
    exit: files.exit,
  };
}
