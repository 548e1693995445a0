// depends_on conditions the executor waits for: service_healthy (the supervisor's verdict in
// the service's health file) and service_completed_successfully (the monitor's exit record).
// Both read files, so they work whoever asks and survive a restart of the supervisor.
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../errors.js';
import { describeExit, readExitRecord, type ExitRecord } from '../state/exit-record.js';
import { isSameProcess } from '../sys/proc.js';
import { readSnapshot } from '../state/snapshot.js';
import { stateRoots, type StateRoots } from '../state/paths.js';
import { serviceRecords } from '../state/records.js';
import { ensureSupervisor, runningSupervisor, supervisorLogTail } from './control.js';
import { readHealth, sameProcess, type ProcessId } from './files.js';
import { lastOutput, probeCommand, type HealthState } from './health.js';
import { serviceStatePaths, supervisorPaths } from './paths.js';

/** How to wait. */
export interface WaitOptions {
  /** Default: 10 minutes (compose waits as long as it takes). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly roots?: StateRoots;
  /** Poll interval (default 50 ms). */
  readonly pollMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;

function quoted(output: string): string {
  return output ? `: ${output.length > 300 ? `${output.slice(0, 300)}…` : output}` : '';
}

/** The end of a log, as a quote: where a failure says why. */
function lastPart(text: string): string {
  return text ? `: ${text.length > 600 ? `…${text.slice(-600)}` : text}` : '';
}

/** A supervisor this wait started that is gone within this time failed at its start. */
const FAILED_START_MS = 5000;

async function pause(options: WaitOptions): Promise<void> {
  await sleep(options.pollMs ?? 50, undefined, options.signal ? { signal: options.signal } : {});
}

/**
 * Resolves once the service's healthcheck passes. Rejects with a UserError naming the service
 * when it has no healthcheck (HEALTHCHECK_MISSING, as compose refuses service_healthy then),
 * is declared unhealthy (SERVICE_UNHEALTHY, with the last probe's output), exits or is not
 * running (SERVICE_EXITED), or does not become healthy in time (HEALTH_TIMEOUT).
 */
export async function waitHealthy(project: string, service: string, options: WaitOptions = {}): Promise<void> {
  const roots = options.roots ?? stateRoots();
  const paths = serviceStatePaths(roots, project, service);
  const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  let health: HealthState | undefined;
  let checkedSupervisor = 0;
  let startedAt: number | undefined;
  for (;;) {
    options.signal?.throwIfAborted();
    const spec = (await readSnapshot(roots, project))?.project.services[service];
    if (!spec) throw new UserError('SERVICE_UNKNOWN', `project ${project} has no service "${service}"`, 'check the service name');
    if (!spec.healthcheck || !probeCommand(spec.healthcheck.test)) {
      throw new UserError(
        'HEALTHCHECK_MISSING',
        `service "${service}" has no healthcheck, so it can never be service_healthy`,
        'give it a `healthcheck:`, or depend on it with condition service_started',
      );
    }
    const record = await serviceRecords.read(roots, project, service);
    const process = record?.process;
    if (!process) throw new UserError('SERVICE_EXITED', `service "${service}" is not running`, `see \`stack logs ${service}\``);
    const saved = await readHealth(paths.health);
    health = sameProcess(saved, process) ? saved : health;
    if (health?.status === 'healthy') return;
    if (health?.status === 'unhealthy') {
      throw new UserError(
        'SERVICE_UNHEALTHY',
        `service "${service}" is unhealthy${quoted(lastOutput(health))}`,
        `its healthcheck failed ${health.failingStreak} time(s) in a row; see \`stack logs ${service}\``,
      );
    }
    if (!isSameProcess(process.pid, process.startTime)) {
      let exit = readExitRecord(paths.exit);
      // Its monitor writes the exit record right after the exit: while it lives, that is a moment away.
      const monitor = record!.monitor as ProcessId | undefined;
      if (!(exit && sameProcess(exit, process))) {
        if (monitor && isSameProcess(monitor.pid, monitor.startTime) && Date.now() <= deadline) {
          await pause(options);
          continue;
        }
        exit = readExitRecord(paths.exit); // the monitor gone, its record written first: maybe since the read above
      }
      const ended = exit && sameProcess(exit, process) ? exit : undefined;
      const how = ended ? describeExit(ended) : 'exited';
      throw new UserError('SERVICE_EXITED', `service "${service}" ${how} before it was healthy${quoted(lastOutput(health))}`, `see \`stack logs ${service}\``);
    }
    if (Date.now() - checkedSupervisor > 1000) {
      checkedSupervisor = Date.now();
      if (!(await runningSupervisor(project, roots))) {
        // Gone again moments after this wait started it (`stack` does not wait for its start):
        // it fails at its start, and another would too. Say why. (One that ran a while is started again.)
        if (startedAt !== undefined && Date.now() - startedAt < FAILED_START_MS) {
          throw new UserError('SUPERVISOR_FAILED', `the supervisor of project ${project}, which runs the healthcheck of service "${service}", left at its start${lastPart(supervisorLogTail(project, roots))}`, `see ${supervisorPaths(roots, project).log}`);
        }
        await ensureSupervisor(project, roots);
        startedAt = Date.now();
      }
    }
    if (Date.now() > deadline) {
      throw new UserError('HEALTH_TIMEOUT', `service "${service}" did not become healthy in time${quoted(lastOutput(health))}`, `see \`stack logs ${service}\``);
    }
    await pause(options);
  }
}

/** Resolves once the service's process exited with code 0; a UserError naming it when it failed. */
export async function waitCompleted(project: string, service: string, options: WaitOptions = {}): Promise<ExitRecord> {
  const roots = options.roots ?? stateRoots();
  const paths = serviceStatePaths(roots, project, service);
  const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  for (;;) {
    options.signal?.throwIfAborted();
    const record = await serviceRecords.read(roots, project, service);
    const process = record?.process;
    const exit = readExitRecord(paths.exit);
    if (exit && (!process || sameProcess(exit, process))) {
      if (exit.exitCode === 0 && exit.signal === null) return exit;
      throw new UserError('SERVICE_FAILED', `service "${service}" did not complete successfully: ${describeExit(exit)}`, `see \`stack logs ${service}\``);
    }
    if (!process) throw new UserError('SERVICE_EXITED', `service "${service}" is not running and left no exit record`, `see \`stack logs ${service}\``);
    if (Date.now() > deadline) throw new UserError('COMPLETION_TIMEOUT', `service "${service}" did not complete in time`);
    await pause(options);
  }
}
