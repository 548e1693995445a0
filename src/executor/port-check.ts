// Published ports are checked before `up` creates anything: a host port another program holds
// is PORT_IN_USE (naming port and service) while the host is still untouched. Ports this
// project's own supervisor already serves are not in the way: they stay with the project.
// check.js and types.js directly: the index also loads the forwarders, which only the supervisor
// runs; check.js (its binds, the UDP family probe) only when a port is to be checked.
import { portLabel, type PublishedPort } from '../network/portfwd/types.js';
import type { Plan } from '../planner/index.js';
import type { Project } from '../spec/project.js';

/** The published ports of every service the plan starts, minus those in `served` (portLabel form). */
export function portsToCheck(project: Project, plan: Plan, served: ReadonlySet<string>): PublishedPort[] {
  const starting = new Set(plan.operations.flatMap((op) => (op.kind === 'start-service' ? [op.service] : [])));
  const ports: PublishedPort[] = [];
  for (const name of [...starting].sort()) {
    for (const p of project.services[name]?.ports ?? []) {
      const port = { service: name, hostIp: p.hostIp, hostPort: p.hostPort, protocol: p.protocol, targetIp: '', targetPort: p.containerPort };
      if (!served.has(portLabel(port))) ports.push(port);
    }
  }
  return ports;
}

/**
 * Throws PORT_IN_USE for every port the plan needs that cannot be bound now. `served` (a question
 * to the supervisor) is asked only when a service the plan starts publishes a port.
 */
export async function assertPortsFree(project: Project, plan: Plan, served: () => Promise<ReadonlySet<string>>): Promise<void> {
  const publishing = plan.operations.some((op) => op.kind === 'start-service' && (project.services[op.service]?.ports.length ?? 0) > 0);
  if (!publishing) return;
  const ports = portsToCheck(project, plan, await served());
  const { checkPortsFree } = await import('../network/portfwd/check.js');
  await checkPortsFree(ports);
}
