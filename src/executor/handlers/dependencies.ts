// depends_on conditions, checked by a dependent's start-service before it launches, once the
// walk says the starts it depends on are done (service_started: start.ts waits with after());
// service_healthy waits for the supervisor's healthcheck verdict; service_completed_successfully
// waits for the dependency's exit record.
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../../errors.js';
import type { Service } from '../../spec/project.js';
import { serviceRecords } from '../../state/records.js';
import type { RunContext } from '../context.js';
import { describeExit, readExitRecord } from '../../state/exit-record.js';
import { serviceFiles } from '../../state/service-files.js';
import { replicaKeys } from '../../planner/replicas.js';

/** How long a dependency may take to become healthy or to complete (compose waits as long). */
const DEPENDENCY_WAIT_MS = 10 * 60 * 1000;

async function completed(ctx: RunContext, service: string, dependency: string, signal: AbortSignal): Promise<void> {
  const exitPath = serviceFiles(ctx.roots, ctx.project.name, dependency).exit;
  const deadline = Date.now() + DEPENDENCY_WAIT_MS;
  for (;;) {
    const record = readExitRecord(exitPath);
    if (record && record.exitCode === 0 && record.signal === null) return;
    if (record) {
      throw new UserError(
        'DEPENDENCY_FAILED',
        `service "${service}": dependency "${dependency}" did not complete successfully (${describeExit(record)})`,
        `see \`stack logs ${dependency}\``,
      );
    }
    const running = (await serviceRecords.read(ctx.roots, ctx.project.name, dependency))?.process;
    if (!running) throw new UserError('DEPENDENCY_FAILED', `service "${service}": dependency "${dependency}" is not running`);
    if (Date.now() > deadline) throw new UserError('DEPENDENCY_TIMEOUT', `service "${service}": dependency "${dependency}" did not complete in time`);
    await sleep(50, undefined, { signal });
  }
}

/** Resolves once every depends_on condition of `spec` holds; a UserError naming both services otherwise. */
export async function awaitDependencies(ctx: RunContext, spec: Service, signal: AbortSignal): Promise<void> {
  // A scaled dependency: every replica must meet the condition, as compose waits for each container.
  const each = Object.entries(spec.dependsOn).flatMap(([dependency, d]) => {
    const keys = replicaKeys(ctx.project.services, dependency);
    return (keys.length ? keys : [dependency]).map((key) => [key, d] as const);
  });
  await Promise.all(
    each.map(async ([dependency, d]) => {
      if (!ctx.project.services[dependency]) {
        if (d.required) throw new UserError('DEPENDENCY_MISSING', `service "${spec.name}" depends on "${dependency}", which is not enabled`);
        return;
      }
      if (d.condition === 'service_completed_successfully') return completed(ctx, spec.name, dependency, signal);
      if (d.condition === 'service_healthy') {
        await ctx.env.supervisor.ensure(ctx.project.name);
        await ctx.env.supervisor.waitHealthy(ctx.project.name, dependency, DEPENDENCY_WAIT_MS, signal);
      }
    }),
  );
}
