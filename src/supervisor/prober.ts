// Runs one service's healthcheck against one of its processes, probe after probe, inside the
// service (execInService: its namespaces, cgroups and user), and reports each new verdict.
// One prober per process: a restarted service gets a fresh one, starting over at `starting`.
import { readFileSync } from 'node:fs';
import type { ExecTarget } from '../runtime/index.js';
import type { Healthcheck } from '../spec/project.js';
import { afterProbe, initialHealth, probeCommand, probeDelay, probeOutput, type HealthState, type ProbeResult } from './health.js';

/** Clock ticks per second of /proc/PID/stat times (USER_HZ: 100 on every Linux ABI). */
const USER_HZ = 100;

/** When a process started, in ms since the epoch, from its start time in ticks since boot. */
export function processStartedAt(startTime: number, procStat = readFileSync('/proc/stat', 'utf8')): number {
  const btime = Number(/^btime (\d+)$/m.exec(procStat)?.[1] ?? 0);
  return btime * 1000 + (startTime * 1000) / USER_HZ;
}

/** A running prober. */
export interface Prober {
  current(): HealthState;
  stop(): void;
}

/** Starts probing `target` per `check`; `save` gets every state a probe produces. */
export function startProber(
  target: ExecTarget,
  check: Healthcheck,
  save: (state: HealthState) => void,
  initial: HealthState = initialHealth(target.pid, target.startTime),
): Prober {
  const argv = probeCommand(check.test);
  const startedAt = processStartedAt(target.startTime);
  const abort = new AbortController();
  let state = initial;
  let timer: NodeJS.Timeout | undefined;
  const inStartPeriod = (): boolean => Date.now() - startedAt < check.startPeriodMs;
  const schedule = (): void => {
    if (abort.signal.aborted || argv === undefined) return;
    timer = setTimeout(() => void probe(), probeDelay(check, inStartPeriod()));
  };
  const probe = async (): Promise<void> => {
    const start = new Date().toISOString();
    const during = inStartPeriod();
    let result: ProbeResult;
    try {
      const { execInService } = await import('../runtime/index.js'); // loaded at the first probe, not at the supervisor's start
      const r = await execInService(target, argv!, { timeoutMs: check.timeoutMs, signal: abort.signal });
      const output = r.timedOut ? `Health check exceeded timeout (${check.timeoutMs} ms)` : probeOutput(r.stdout, r.stderr);
      result = { start, end: new Date().toISOString(), exitCode: r.exitCode ?? -1, output };
    } catch (e) {
      if (abort.signal.aborted) return;
      const code = (e as { code?: string }).code;
      const exitCode = code === 'COMMAND_NOT_FOUND' ? 127 : code === 'COMMAND_NOT_EXECUTABLE' ? 126 : -1;
      result = { start, end: new Date().toISOString(), exitCode, output: e instanceof Error ? e.message : String(e) };
    }
    if (abort.signal.aborted) return;
    state = afterProbe(state, result, check.retries, during);
    save(state);
    schedule();
  };
  schedule();
  return {
    current: () => state,
    stop: () => {
      abort.abort();
      clearTimeout(timer);
    },
  };
}
