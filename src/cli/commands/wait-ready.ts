// `--wait` of `up` and `start`, as compose means it: return once every service waited for is
// running, and healthy when it has a healthcheck, or — for a one-shot that another service
// depends on with service_completed_successfully — has completed successfully. A service that
// exits (or turns unhealthy) instead is an error naming it.
import { UserError } from '../../errors.js';
import { describeExit, readExitRecord } from '../../state/exit-record.js';
import { isSameProcess } from '../../sys/proc.js';
import { serviceFiles } from '../../state/service-files.js';
import type { Project } from '../../spec/project.js';
import { serviceRecords } from '../../state/records.js';
import { waitCompleted, waitHealthy } from '../../supervisor/index.js';
import { probeCommand } from '../../supervisor/health.js';
import type { RunEnv } from './executor-env.js';

/** How long `--wait` waits without `--wait-timeout` (compose: as long as it takes). */
const DEFAULT_WAIT_MS = 60 * 60 * 1000;

/** Resolves once every one of `services` is ready (see above); `timeoutMs` bounds the whole wait. */
export async function waitReady(project: Project, services: readonly string[], env: RunEnv, timeoutMs: number | undefined, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + (timeoutMs ?? DEFAULT_WAIT_MS);
  const left = (): number => Math.max(0, deadline - Date.now());
  const oneShot = (name: string): boolean =>
    Object.values(project.services).some((s) => s.dependsOn[name]?.condition === 'service_completed_successfully');
  const options = { roots: env.roots, ...(signal && { signal }) };
  const timedOut = (e: unknown): boolean => e instanceof UserError && /TIMEOUT$/.test(e.code);
  await Promise.all(
    services.map(async (name) => {
      const spec = project.services[name];
      try {
        if (oneShot(name)) await waitCompleted(project.name, name, { ...options, timeoutMs: left() });
        else if (spec?.healthcheck && probeCommand(spec.healthcheck.test)) await waitHealthy(project.name, name, { ...options, timeoutMs: left() });
        else await assertRunning(project.name, name, env);
      } catch (e) {
        if (timeoutMs !== undefined && timedOut(e)) {
          throw new UserError('WAIT_TIMEOUT', `service "${name}" was not ready after ${Math.round(timeoutMs / 1000)} s`, `see \`stack ps\` and \`stack logs ${name}\``);
        }
        throw e;
      }
    }),
  );
}

async function assertRunning(project: string, service: string, env: RunEnv): Promise<void> {
  const process = (await serviceRecords.read(env.roots, project, service))?.process;
  if (process && isSameProcess(process.pid, process.startTime)) return;
  const exit = readExitRecord(serviceFiles(env.roots, project, service).exit);
  const how = exit && process && exit.pid === process.pid ? describeExit(exit) : 'is not running';
  throw new UserError('SERVICE_EXITED', `service "${service}" ${how}`, `see \`stack logs ${service}\``);
}

/** `--wait-timeout N` (seconds) as milliseconds. */
export function waitTimeoutMs(value: string | undefined, command: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(value)) {
    throw new UserError('CLI_BAD_ARGUMENTS', `stack ${command}: --wait-timeout ${value} is not a number of seconds`, 'e.g. --wait-timeout 30');
  }
  return Math.round(Number(value) * 1000);
}
