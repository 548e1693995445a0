// Healthcheck verdicts, Docker's rules, as pure functions: a probe passes with exit code 0;
// a pass makes the service healthy at once; failures during start_period do not count; after
// it, `retries` failures in a row make it unhealthy. The last results are kept with their
// output (4 KiB each), as `docker inspect` shows them, for `ps` and for error messages.
import type { Healthcheck } from '../spec/project.js';

/** The health of a service's current process. */
export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

/** One probe's result. */
export interface ProbeResult {
  /** RFC 3339 times the probe started and ended. */
  readonly start: string;
  readonly end: string;
  /** The command's exit code; -1 when it timed out or could not run. */
  readonly exitCode: number;
  /** stdout then stderr (or why it could not run), cut to OUTPUT_MAX bytes. */
  readonly output: string;
}

/** What the supervisor writes to a service's health.json: tied to one process. */
export interface HealthState {
  readonly pid: number;
  readonly startTime: number;
  readonly status: HealthStatus;
  /** Failures in a row (those inside start_period excluded). */
  readonly failingStreak: number;
  /** The last LOG_KEEP probes, oldest first. */
  readonly log: readonly ProbeResult[];
}

/** Probe results kept (Docker keeps 5). */
export const LOG_KEEP = 5;
/** Bytes of output kept per probe (Docker keeps 4096). */
export const OUTPUT_MAX = 4096;

/** The state of a process no probe has run against yet. */
export function initialHealth(pid: number, startTime: number): HealthState {
  return { pid, startTime, status: 'starting', failingStreak: 0, log: [] };
}

/** The state after one probe; `inStartPeriod` when the process is younger than start_period. */
export function afterProbe(state: HealthState, probe: ProbeResult, retries: number, inStartPeriod: boolean): HealthState {
  const log = [...state.log, probe].slice(-LOG_KEEP);
  if (probe.exitCode === 0) return { ...state, status: 'healthy', failingStreak: 0, log };
  if (inStartPeriod && state.status !== 'healthy') return { ...state, log };
  const failingStreak = state.failingStreak + 1;
  const status = failingStreak >= Math.max(1, retries) ? 'unhealthy' : state.status;
  return { ...state, status, failingStreak, log };
}

/** The command a probe runs: CMD's words, or CMD-SHELL's script through `sh -c`; none for NONE. */
export function probeCommand(test: readonly string[]): string[] | undefined {
  const [kind, ...rest] = test;
  if (kind === 'CMD' && rest.length > 0) return rest;
  if (kind === 'CMD-SHELL' && rest.length > 0) return ['/bin/sh', '-c', rest.join(' ')];
  return undefined;
}

/** How long until the next probe: start_interval while in start_period (when set), else interval. */
export function probeDelay(check: Pick<Healthcheck, 'intervalMs' | 'startIntervalMs'>, inStartPeriod: boolean): number {
  return inStartPeriod && check.startIntervalMs > 0 ? check.startIntervalMs : check.intervalMs;
}

/** stdout and stderr as one text, cut to OUTPUT_MAX bytes. */
export function probeOutput(stdout: string, stderr: string): string {
  const joined = Buffer.from(stdout + stderr, 'utf8');
  return joined.length <= OUTPUT_MAX ? joined.toString('utf8') : joined.subarray(0, OUTPUT_MAX).toString('utf8');
}

/** The output of the last probe, trimmed: what an error about an unhealthy service quotes. */
export function lastOutput(state: HealthState | undefined): string {
  return state?.log.at(-1)?.output.trim() ?? '';
}
