// `network_mode`, `pid`, `ipc` and `volumes_from`: what a service shares with the host or with
// another service of the project instead of having its own (docs/isolation.md). Read per service
// by `namespaceModes`, then checked across services by `linkNamespaceOwners`: the service named
// must exist, sharing a netns excludes `networks:` and published ports (as Docker refuses or
// discards them), and the owner becomes an implicit dependency (started first, and its restart
// restarts the sharer), as compose-go adds it.
import type { KeyPath } from './raw.js';
import type { Report } from './report.js';
import { suggest } from './suggest.js';

/** A namespace shared with the host or with another service of the project. */
export type SharedNamespace = { readonly kind: 'host' } | { readonly kind: 'service'; readonly service: string };

/** `network_mode`: `none` is an own netns with loopback only; absent: an own netns on `networks:`. */
export type NetworkMode = { readonly kind: 'none' } | SharedNamespace;

/** `ipc`: `shareable` and `private` are an own IPC namespace (only a shareable one may be joined). */
export type IpcMode = { readonly kind: 'shareable' } | { readonly kind: 'private' } | SharedNamespace;

/** One `volumes_from` entry: every volume of `service`, read-only or as it mounts them. */
export interface VolumesFrom {
  readonly service: string;
  /** `ro`: every mount read-only; `rw` (the default): each as the service mounts it. */
  readonly mode: 'ro' | 'rw';
}

/** The namespace keys of one service, as Service carries them (absent: its own). */
export interface NamespaceModes {
  readonly networkMode?: NetworkMode;
  readonly pidMode?: SharedNamespace;
  readonly ipcMode?: IpcMode;
  readonly volumesFrom?: readonly VolumesFrom[];
}

const SERVICE_PREFIX = 'service:';

function containerHint(key: string): string {
  return `stack runs no containers of other tools: name a service of this project (\`${key}: service:NAME\`)`;
}

/** One `service:NAME`, `host` (when allowed) or the key's own words; undefined after an error. */
function sharedNamespace<T extends string>(
  key: string,
  value: unknown,
  own: readonly T[],
  path: KeyPath,
  report: Report,
): SharedNamespace | { readonly kind: T } | undefined {
  const expected = [...own, 'host', 'service:NAME'].join(', ');
  if (typeof value !== 'string') {
    report.error(path, 'BAD_TYPE', `\`${key}\` is not a string`, { expected });
    return undefined;
  }
  if ((own as readonly string[]).includes(value)) return { kind: value as T };
  if (value === 'host') return { kind: 'host' };
  if (value.startsWith(SERVICE_PREFIX) && value.length > SERVICE_PREFIX.length) return { kind: 'service', service: value.slice(SERVICE_PREFIX.length) };
  if (value.startsWith('container:')) {
    report.error(path, 'UNSUPPORTED_VALUE', `\`${key}: ${value}\` joins a container outside the project`, { expected, hint: containerHint(key) });
    return undefined;
  }
  if (key === 'network_mode' && value === 'bridge') {
    report.error(path, 'UNSUPPORTED_VALUE', '`network_mode: bridge` means Docker\'s own docker0 bridge, which stack does not have', {
      expected,
      hint: 'leave `network_mode` out: the service joins the project\'s default network',
    });
    return undefined;
  }
  const near = suggest(value, [...own, 'host']);
  report.error(path, 'BAD_VALUE', `\`${value}\` is not a ${key}`, { expected, ...(near && { hint: `did you mean \`${near}\`?` }) });
  return undefined;
}

/** Reads `network_mode`, `pid`, `ipc` and `volumes_from` of one service; problems go to `report`. */
export function namespaceModes(spec: Readonly<Record<string, unknown>>, at: (...rest: (string | number)[]) => KeyPath, report: Report): NamespaceModes {
  const out: { -readonly [K in keyof NamespaceModes]: NamespaceModes[K] } = {};
  if (spec.network_mode !== undefined) {
    const m = sharedNamespace('network_mode', spec.network_mode, ['none'] as const, at('network_mode'), report);
    if (m) out.networkMode = m;
  }
  if (spec.pid !== undefined && spec.pid !== null) {
    const m = sharedNamespace('pid', spec.pid, [] as const, at('pid'), report);
    if (m) out.pidMode = m as SharedNamespace;
  }
  if (spec.ipc !== undefined) {
    const m = sharedNamespace('ipc', spec.ipc, ['shareable', 'private'] as const, at('ipc'), report);
    if (m) out.ipcMode = m;
  }
  if (Array.isArray(spec.volumes_from)) {
    const list: VolumesFrom[] = [];
    spec.volumes_from.forEach((entry: unknown, i) => {
      const m = typeof entry === 'string' ? /^(?:service:)?([^:]+)(?::(ro|rw))?$/.exec(entry) : null;
      if (typeof entry === 'string' && entry.startsWith('container:')) {
        report.error(at('volumes_from', i), 'UNSUPPORTED_VALUE', `\`${entry}\` takes volumes from a container outside the project`, {
          expected: 'SERVICE or SERVICE:ro',
          hint: 'stack runs no containers of other tools: name a service of this project',
        });
      } else if (!m) {
        report.error(at('volumes_from', i), 'BAD_VALUE', 'cannot read this volumes_from entry', { expected: 'SERVICE, SERVICE:ro or SERVICE:rw' });
      } else list.push({ service: m[1]!, mode: (m[2] as 'ro' | 'rw' | undefined) ?? 'rw' });
    });
    if (list.length > 0) out.volumesFrom = list;
  }
  return out;
}

/** What the cross-service pass reads and rewrites of a service (Project's Service fits). */
export interface SharingService extends NamespaceModes {
  readonly name: string;
  readonly hostname: string;
  readonly ports: readonly unknown[];
  readonly networks: Readonly<Record<string, unknown>>;
  readonly dependsOn: Readonly<Record<string, { readonly condition: string; readonly required: boolean; readonly restart: boolean }>>;
}

/**
 * Checks the service each mode names and rewrites the services in place: a service in another's
 * netns, the host's or `none` joins no network (`networks:` beside it is an error, as in
 * compose-go) and publishes no port (Docker refuses them for `service:`, discards them for `host`
 * and `none`); a named owner becomes an implicit `depends_on` (service_started, restart: true).
 */
export function linkNamespaceOwners<S extends SharingService>(
  services: Record<string, S>,
  declared: Readonly<Record<string, Readonly<Record<string, unknown>> | undefined>>,
  report: Report,
): void {
  for (const name of Object.keys(services)) {
    let s = services[name]!;
    const raw = declared[name] ?? {};
    const at = (...rest: (string | number)[]): KeyPath => ['services', name, ...rest];
    const owners: [string, KeyPath, boolean][] = [];
    const net = s.networkMode;
    if (net !== undefined) {
      if (raw.networks !== undefined) {
        report.error(at('network_mode'), 'CONFLICT', `service \`${name}\` declares mutually exclusive \`network_mode\` and \`networks\``, {
          hint: net.kind === 'service' ? `remove \`networks:\`: the service uses the networks of \`${net.service}\`` : 'keep only one of them',
        });
      }
      if (s.ports.length > 0) {
        if (net.kind === 'service') {
          report.error(at('ports'), 'CONFLICT', `service \`${name}\` shares the network of \`${net.service}\` and cannot publish ports of its own`, {
            hint: `publish the ports on \`${net.service}\`: both listen in the same network namespace`,
          });
        } else {
          report.warn(at('ports'), 'PORTS_DISCARDED', `published ports are discarded with \`network_mode: ${net.kind}\``, {
            hint: net.kind === 'host' ? 'the service listens on the host\'s interfaces directly' : 'a service with no network cannot be reached',
          });
        }
      }
      if (net.kind === 'host') {
        report.warn(at('network_mode'), 'ISOLATION_OFF', `service \`${name}\` uses the host's network namespace: its network is not isolated`, {
          hint: 'it sees every interface of the host and may listen on any of its ports',
        });
      }
      s = { ...s, networks: {}, ports: [] } as S;
      if (net.kind === 'service') owners.push([net.service, at('network_mode'), true]);
    }
    if (s.pidMode?.kind === 'host') report.warn(at('pid'), 'ISOLATION_OFF', `service \`${name}\` uses the host's pid namespace: it sees every process of the host`);
    if (s.ipcMode?.kind === 'host') report.warn(at('ipc'), 'ISOLATION_OFF', `service \`${name}\` uses the host's IPC namespace: it shares the host's shared memory and semaphores`);
    if (s.pidMode?.kind === 'service') owners.push([s.pidMode.service, at('pid'), true]);
    if (s.ipcMode?.kind === 'service') owners.push([s.ipcMode.service, at('ipc'), true]);
    const rawList: unknown[] = Array.isArray(raw.volumes_from) ? raw.volumes_from : [];
    for (const v of s.volumesFrom ?? []) {
      const i = rawList.findIndex((e) => typeof e === 'string' && e.replace(/^service:/, '').split(':')[0] === v.service);
      owners.push([v.service, at('volumes_from', Math.max(i, 0)), false]);
    }
    const deps = { ...s.dependsOn };
    for (const [owner, path, restart] of owners) {
      if (owner === name) {
        report.error(path, 'BAD_VALUE', `service \`${name}\` cannot share its own namespaces or volumes`, { hint: 'name another service of the project' });
        continue;
      }
      const target = services[owner];
      if (!target) {
        const near = suggest(owner, Object.keys(declared));
        report.error(path, declared[owner] ? 'DISABLED_DEPENDENCY' : 'UNDEFINED_SERVICE', declared[owner] ? `service \`${owner}\` is not enabled by any active profile` : `service \`${owner}\` is not a service of this spec`, {
          expected: `one of the services: ${Object.keys(services).join(', ')}`,
          hint: declared[owner] ? `enable its profile (--profile), or stop sharing with it` : near ? `did you mean \`${near}\`?` : 'declare it under `services:`',
        });
        continue;
      }
      if (path[2] === 'ipc' && target.ipcMode?.kind === 'private') {
        report.error(path, 'CONFLICT', `service \`${owner}\` has \`ipc: private\`: its IPC namespace cannot be joined`, { hint: `give \`${owner}\` \`ipc: shareable\`` });
      }
      deps[owner] ??= { condition: 'service_started', required: true, restart };
    }
    if (owners.length > 0) s = { ...s, dependsOn: Object.fromEntries(Object.entries(deps).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) } as S;
    // What Docker refuses beside a shared netns (its validateNetContainerMode): the owner's apply.
    if (net?.kind === 'service') {
      for (const key of ['dns', 'dns_search', 'dns_opt', 'extra_hosts', 'expose', 'links', 'mac_address']) {
        if (raw[key] === undefined) continue;
        report.error(at(key), 'CONFLICT', `service \`${name}\` shares the network of \`${net.service}\`: \`${key}\` is that service's`, {
          hint: `set \`${key}\` on \`${net.service}\`, or remove it here (Docker refuses both together)`,
        });
      }
    }
    if (net?.kind === 'service' && raw.hostname !== undefined) {
      report.error(at('hostname'), 'CONFLICT', `service \`${name}\` shares the network of \`${net.service}\` and takes its hostname`, {
        hint: `set the hostname on \`${net.service}\`, or remove it here (Docker refuses both together)`,
      });
    }
    services[name] = s;
  }
  // As Docker does, a service in another's netns has that service's hostname (and name files).
  for (const name of Object.keys(services)) {
    const owner = netnsOwner(services, name);
    const hostname = owner.kind === 'service' && owner.service !== name ? services[owner.service]?.hostname : undefined;
    if (hostname !== undefined) services[name] = { ...services[name]!, hostname } as S;
  }
}

/** Whose network namespace a service runs in: `host`, or the service that owns it (itself unless it shares one). */
export function netnsOwner(services: Readonly<Record<string, NamespaceModes>>, name: string): { readonly kind: 'host' } | { readonly kind: 'service'; readonly service: string } {
  const seen = new Set<string>();
  let current = name;
  for (;;) {
    const mode = services[current]?.networkMode;
    if (mode?.kind === 'host') return { kind: 'host' };
    if (mode?.kind !== 'service' || seen.has(current)) return { kind: 'service', service: current };
    seen.add(current);
    current = mode.service;
  }
}

/** The service has a netns of its own (made and removed with it): no `network_mode`, or `none`. */
export function ownsNetns(service: NamespaceModes): boolean {
  return service.networkMode === undefined || service.networkMode.kind === 'none';
}

/** A mode as the spec writes it (`stack config`): `host`, `none`, `shareable`, `service:NAME`. */
export function modeText(mode: NetworkMode | IpcMode | undefined): string | undefined {
  if (mode === undefined) return undefined;
  return mode.kind === 'service' ? `service:${mode.service}` : mode.kind;
}
