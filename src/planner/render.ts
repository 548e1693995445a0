// One line per operation with its cause: what `stack plan` prints and what the tests snapshot.
import type { Plan } from './plan.js';

/** The plan as aligned text lines: kind, resource, cause, and what it waits for. */
export function renderPlan(plan: Plan): string {
  if (plan.operations.length === 0) return 'nothing to do';
  const kindWidth = Math.max(...plan.operations.map((op) => op.kind.length));
  const resourceWidth = Math.max(...plan.operations.map((op) => op.resource.length));
  return plan.operations
    .map((op) => {
      const after = op.dependsOn.length ? `  (after ${op.dependsOn.join(', ')})` : '';
      const warn = op.destructive ? '  [destroys data]' : '';
      return `${op.kind.padEnd(kindWidth)}  ${op.resource.padEnd(resourceWidth)}  ${op.cause}${warn}${after}`;
    })
    .join('\n');
}

/** The plan for scripts (`stack plan --format json`): the Plan itself, stable key order. */
export function renderPlanJson(plan: Plan): string {
  return JSON.stringify(plan, null, 2);
}
