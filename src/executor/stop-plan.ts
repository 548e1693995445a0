// Ctrl-C of a foreground `up` stops the services and keeps everything else (compose does the
// same): the supervisor and the stop-service operations of the down plan, in its order, and
// nothing more.
import type { Plan } from '../planner/plan.js';

/** Only the stop-supervisor and stop-service operations of `plan` (they depend on nothing but each other), with `cause`. */
export function stopOnly(plan: Plan, cause = 'Ctrl-C'): Plan {
  const operations = plan.operations.filter((op) => op.kind === 'stop-service' || op.kind === 'stop-supervisor').map((op) => ({ ...op, cause }));
  const ids = new Set(operations.map((op) => op.id));
  return { project: plan.project, operations: operations.map((op) => ({ ...op, dependsOn: op.dependsOn.filter((d) => ids.has(d)) })) };
}

/** The project with no services, networks or volumes: what `down` and the Ctrl-C stop apply. */
export function emptyProject(name: string) {
  return { name, workingDir: '', files: [], services: {}, networks: {}, volumes: {} } as const;
}
