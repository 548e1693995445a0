// The namespaces a service's launch joins (spec/namespace-modes.ts): its netns — its own, the
// host's or the one of the service it shares (`network_mode: service:NAME`), by that service's
// record — and, for `pid:`/`ipc:` of another service, that service's running process's pid and
// IPC namespaces. Read when the service starts and when the supervisor restarts it, so a sharer
// follows its owner's current process.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { netnsName } from '../names.js';
import { netnsOwner, type SharedNamespace } from '../spec/namespace-modes.js';
import type { Project, Service } from '../spec/project.js';
import { isSameProcess } from '../sys/proc.js';
import { NETNS_DIR, type StateRoots } from '../state/paths.js';
import { serviceRecords } from '../state/records.js';

/** What the launch joins instead of making: a netns name (or `host`), and pid/IPC namespace paths (or `host`). */
export interface JoinedNamespaces {
  readonly netns: string;
  readonly pidNs?: string;
  readonly ipcNs?: string;
}

/** The netns name `service` runs in (its record's, or its owner's), or `host`. */
export async function serviceNetns(roots: StateRoots, project: Project, service: string, netnsDir = NETNS_DIR): Promise<string> {
  const owner = netnsOwner(project.services, service);
  if (owner.kind === 'host') return 'host';
  const recorded = (await serviceRecords.read(roots, project.name, owner.service))?.netns ?? netnsName(project.name, owner.service);
  if (owner.service !== service && !existsSync(join(netnsDir, recorded))) {
    throw new UserError(
      'SHARED_NAMESPACE_MISSING',
      `service ${service} shares the network of service ${owner.service}, which has no network namespace`,
      `start ${owner.service} first (\`stack up ${owner.service}\`)`,
    );
  }
  return recorded;
}

/** `/proc/PID/ns/<kind>` of the running process of the service `mode` names, or `host`. */
async function sharedNamespace(roots: StateRoots, project: Project, service: string, key: 'pid' | 'ipc', mode: SharedNamespace): Promise<string> {
  if (mode.kind === 'host') return 'host';
  const process = (await serviceRecords.read(roots, project.name, mode.service))?.process;
  if (!process || !isSameProcess(process.pid, process.startTime)) {
    throw new UserError(
      'SHARED_NAMESPACE_MISSING',
      `service ${service} shares the ${key === 'pid' ? 'pid' : 'IPC'} namespace of service ${mode.service}, which is not running`,
      `start ${mode.service} first (\`stack up ${mode.service}\`)`,
    );
  }
  return `/proc/${process.pid}/ns/${key}`;
}

/** Every namespace `spec` joins rather than makes (see JoinedNamespaces). */
export async function serviceNamespaces(roots: StateRoots, project: Project, spec: Service): Promise<JoinedNamespaces> {
  const netns = await serviceNetns(roots, project, spec.name);
  const ipc = spec.ipcMode?.kind === 'host' || spec.ipcMode?.kind === 'service' ? spec.ipcMode : undefined;
  return {
    netns,
    ...(spec.pidMode !== undefined && { pidNs: await sharedNamespace(roots, project, spec.name, 'pid', spec.pidMode) }),
    ...(ipc !== undefined && { ipcNs: await sharedNamespace(roots, project, spec.name, 'ipc', ipc) }),
  };
}
