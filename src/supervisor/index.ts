// The per-project supervisor: what the executor and the CLI call.
//
// Design (summarized in docs/architecture.md):
// - One detached Node process per project (`node dist/supervisor/main.js <project> …`, spawned
//   with setsid by ensureSupervisor, stdout/stderr to <run>/<project>/supervisor/supervisor.log).
//   At most one per project: it binds an abstract unix socket named after the project's run
//   folder before anything else; the kernel frees that name when the process dies, so a crash
//   never leaves a stale lock. Its pid and start time go to supervisor/pid.json; it answers
//   `status`, `reload`, `stop` and `ping` on supervisor/control.sock. A new one is
//   socket-activated (activation.ts): the `stack` that starts it binds that name, its control
//   socket, its DNS listeners and published ports, and does not wait for its start.
// - It hosts what must outlive `stack up` but not be tied to any one service: the published-port
//   forwarders (host IP 127.0.0.1 unless the spec says otherwise, towards the service's address
//   on its first network), the DNS forwarder on each network's gateway, the healthchecks, and
//   the restart policies.
// - Services are never tied to it: the launcher's monitor (not the supervisor) holds their
//   output pipes and writes their logs and exit records, so a supervisor crash loses no output
//   and kills nothing (no SIGPIPE), and the executor starts and stops services without it.
// - It keeps no state of its own that the records cannot rebuild. It reads the project
//   snapshot (project.json: the normalized Project and its IPAM record, written by `up`), the
//   service records (pid + start time, cgroups), the monitor's exit records, and the small files
//   it writes next to them (each service's health.json and restarts.json, the ports it bound for
//   `hostPort: 0`). At each tick it makes the world match them (level-triggered): every 100 ms
//   while something is under way, once a second while nothing is, and at once when a folder it
//   reads changes or a process exits.
// - After a crash or a SIGKILL, the next `ensureSupervisor` (every `stack up`, `waitHealthy`)
//   starts a new one, which rebuilds everything from those files: it listens again on exactly
//   the recorded ports, resumes each healthcheck where the health file left it (same process),
//   and picks up exits that happened meanwhile. Connections that went through the dead process
//   are cut; new ones work as soon as it listens again.
// - Healthchecks run INSIDE the service: native/build/exec joins its namespaces (ipc, uts, net,
//   pid, mnt), its cgroups and its root, drops to its user and capability set with
//   no_new_privs, and execs CMD's words or CMD-SHELL's script with `sh -c` (execInService).
//   Docker's rules: start_period failures do not count, `retries` failures in a row make it
//   unhealthy, one pass makes it healthy; the last 5 outputs are kept.
// - Restarts (`restart: always | unless-stopped | on-failure[:N] | no`, Docker's rules, delay
//   doubling from 100 ms to 30 s, reset after 10 s of running) relaunch the service through the
//   same launcher, netns, cgroups and files as `up`. A restart takes the project lock
//   (non-blocking, retried), so it never races `up`/`down`, and it never revives a process that
//   `stop`/`down` marked as stopped by the user (its stop mark, written before the signal).
import { stateRoots, type StateRoots } from '../state/paths.js';
import { bindDnsEarly, discardPreparedSupervisor, ensureSupervisor, prepareSupervisor, stopSupervisor } from './control.js';
import { type ProcessId } from './files.js';
import { writeStopMarkSync } from '../state/stop-mark.js';
import { serviceStatePaths } from './paths.js';
import { waitHealthy } from './wait.js';

export {
  ensureSupervisor,
  reloadSupervisor,
  runningSupervisor,
  stopSupervisor,
  supervisorEntry,
  supervisorStatus,
} from './control.js';
export { waitCompleted, waitHealthy, type WaitOptions } from './wait.js';
export { type PortStatus, type ServiceStatus, type SupervisorStatus } from './protocol.js';
export { type HealthState, type HealthStatus, type ProbeResult } from './health.js';
export { readHealth, readRestarts, type PidRecord, type ProcessId, type RestartRecord } from './files.js';
export { serviceStatePaths, supervisorPaths } from './paths.js';

/**
 * Marks `process` of the service as stopped by the user, so the supervisor never restarts it:
 * written before the stop signal (`kill`; `stop` and `down` write the same mark: executor/handlers/stop.ts).
 */
export async function markStoppedByUser(project: string, service: string, process: ProcessId, roots: StateRoots = stateRoots()): Promise<void> {
  writeStopMarkSync(serviceStatePaths(roots, project, service).stopped, process);
}

/**
 * The supervisor as the executor drives it. It has the shape of the executor's narrow
 * SupervisorControl (src/executor/supervisor.ts), which the CLI hands to the executor; the
 * supervisor never imports the executor (docs/architecture.md, "Layers").
 */
export interface SupervisorHandle {
  /**
   * Starts the project's supervisor, or tells the running one to reread the project (`soon`:
   * answered before the reread; `unchanged`: a running one that answers is not told anything).
   */
  ensure(project: string, options?: { soon?: boolean; unchanged?: boolean }): Promise<void>;
  /** Stops the project's supervisor; none running is success. Services keep running. `asked`: once it was told, before it is gone. */
  stop(project: string, asked?: () => void): Promise<void>;
  /** Resolves once the service's healthcheck passes; rejects when it is unhealthy, exits, times out or is aborted. */
  waitHealthy(project: string, service: string, timeoutMs: number, signal: AbortSignal): Promise<void>;
  /** Marks `process` of the service as stopped by the user (never restarted). */
  markStopped(project: string, service: string, process: ProcessId): Promise<void>;
  /** Binds the DNS listener on a new bridge's gateway for the supervisor this run will start (none runs). */
  networkMade(project: string, gateway: string): Promise<void>;
  /** Spawns ahead the launcher of the supervisor this run will start (none runs): it places itself meanwhile. */
  prepare(project: string): void;
  /** Lets go of a launcher `prepare` spawned and no start took. */
  release(project: string): void;
}

/** The supervisor of projects under `roots`, for the executor and the CLI. */
export function supervisorControl(roots: StateRoots = stateRoots()): SupervisorHandle {
  return {
    ensure: async (project, options) => {
      await ensureSupervisor(project, roots, options);
    },
    stop: (project, asked) => stopSupervisor(project, roots, asked),
    waitHealthy: (project, service, timeoutMs, signal) => waitHealthy(project, service, { timeoutMs, signal, roots }),
    markStopped: (project, service, process) => markStoppedByUser(project, service, process, roots),
    networkMade: (project, gateway) => bindDnsEarly(project, roots, gateway),
    prepare: (project) => prepareSupervisor(project, roots),
    release: (project) => discardPreparedSupervisor(project, roots),
  };
}
