// Plain lines for CI logs and pipes: one line when an operation starts, one when it ends.
import type { StackEvent } from '../../executor/events.js';
import { duration, planLabels, resourceLabel as label, VERBS, type Renderer } from './renderer.js';

/** The line an event prints as, or undefined for events plain output skips; `labels`: planLabels of the plan. */
export function plainLine(event: StackEvent, labels?: ReadonlyMap<string, string>): string | undefined {
  const resourceLabel = (resource: string): string => label(resource, labels);
  switch (event.type) {
    case 'plan-started':
      return event.operations.length === 0 ? `project ${event.project}: nothing to do` : undefined;
    case 'operation-started':
      return `${resourceLabel(event.resource)}: ${VERBS[event.kind]?.[0] ?? event.kind} (${event.cause})`;
    case 'operation-done':
      return `${resourceLabel(event.resource)}: ${VERBS[event.kind]?.[1] ?? event.kind} in ${duration(event.durationMs)}`;
    case 'operation-failed':
      return `${resourceLabel(event.resource)}: ${event.kind} failed: ${event.error.message}`;
    case 'operation-skipped':
      return `${resourceLabel(event.resource)}: ${event.kind} skipped (${event.blockedBy === 'cancelled' ? 'cancelled' : `${event.blockedBy} failed`})`;
    case 'plan-done':
      if (event.done + event.failed + event.skipped === 0) return undefined;
      return `project ${event.project}: ${event.done} done, ${event.failed} failed, ${event.skipped} skipped in ${duration(event.durationMs)}`;
  }
}

/** Writes plain lines to `out`. */
export function plainRenderer(out: NodeJS.WritableStream): Renderer {
  let labels: ReadonlyMap<string, string> | undefined;
  return {
    emit(event) {
      if (event.type === 'plan-started') labels = planLabels(event.operations);
      const line = plainLine(event, labels);
      if (line !== undefined) out.write(`${line}\n`);
    },
    notice: (message) => void out.write(`${message}\n`),
    close: async () => undefined,
  };
}
