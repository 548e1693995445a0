// Ctrl-C of a foreground `up` stops the services and keeps everything else (compose does the
// same): the supervisor and the stop-service operations of the down plan, in its order, and
// nothing more.
import type { Operation, Plan } from '../planner/plan.js';
import { STOP_SUPERVISOR_ID } from '../planner/index.js';

/**
 * Only the stop-supervisor and stop-service operations of `plan` that `keep` keeps (they depend
 * on nothing but each other), with `cause`. A stop whose dependents were all left out (one-offs
 * that a Ctrl-C leaves running) goes after the supervisor's stop when that is kept, as every
 * stop of the down plan does: the supervisor is told to stop before any service is.
 */
export function stopOnly(plan: Plan, cause = 'Ctrl-C', keep: (op: Operation) => boolean = () => true): Plan {
  const operations = plan.operations.filter((op) => (op.kind === 'stop-service' || op.kind === 'stop-supervisor') && keep(op)).map((op) => ({ ...op, cause }));
  const ids = new Set(operations.map((op) => op.id));
  const first = ids.has(STOP_SUPERVISOR_ID) ? [STOP_SUPERVISOR_ID] : [];
  const dependsOn = (op: Operation): string[] => {
    const kept = op.dependsOn.filter((d) => ids.has(d));
    return kept.length === 0 && op.kind === 'stop-service' ? first : kept;
  };
  return { project: plan.project, operations: operations.map((op) => ({ ...op, dependsOn: dependsOn(op) })) };
}

/** The project with no services, networks or volumes: what `down` and the Ctrl-C stop apply. */
export function emptyProject(name: string) {
  return { name, workingDir: '', files: [], services: {}, networks: {}, volumes: {} } as const;
}
