// `links:` as compose reads it ("SERVICE" or "SERVICE:ALIAS"): on a user-defined network, as
// Docker has them, a link is a name by which THIS service reaches the linked one (its alias,
// written into this service's /etc/hosts, network/hosts.ts) and an implicit depends_on (the
// linked service starts first). The linked service must be a service of the project that shares
// a network with this one.
import type { KeyPath } from './raw.js';
import type { Report } from './report.js';
import { suggest } from './suggest.js';

/** One link: the linked service and the name it answers to for the linking service. */
export interface Link {
  readonly service: string;
  readonly alias: string;
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Reads `links:` of one service; problems go to `report`; absent or empty gives undefined. */
export function links(spec: unknown, at: (...rest: (string | number)[]) => KeyPath, report: Report): Link[] | undefined {
  if (!Array.isArray(spec) || spec.length === 0) return undefined;
  const out: Link[] = [];
  spec.forEach((entry: unknown, i) => {
    const [service = '', alias = service, ...rest] = String(entry).split(':');
    if (rest.length > 0 || !NAME.test(service) || !NAME.test(alias)) {
      report.error(at('links', i), 'BAD_LINK', `cannot read \`${String(entry)}\` as a link`, { expected: 'SERVICE or SERVICE:ALIAS, e.g. db or db:database' });
    } else out.push({ service, alias });
  });
  return out.length > 0 ? out : undefined;
}

/** What the link check reads and writes of a service. */
interface LinkingService {
  readonly links?: readonly Link[];
  readonly networks: Readonly<Record<string, unknown>>;
  readonly dependsOn: Readonly<Record<string, { readonly condition: string; readonly required: boolean; readonly restart: boolean }>>;
}

/**
 * Checks every service's links against the project (the linked service exists, is enabled and
 * shares a network) and adds each as an implicit depends_on (service_started), as compose does.
 */
export function resolveLinks<S extends LinkingService>(services: Record<string, S>, declared: Readonly<Record<string, unknown>>, report: Report): void {
  for (const [name, s] of Object.entries(services)) {
    if (s.links === undefined) continue;
    const deps: Record<string, LinkingService['dependsOn'][string]> = { ...s.dependsOn };
    s.links.forEach((link, i) => {
      const at: KeyPath = ['services', name, 'links', i];
      const target = services[link.service];
      if (link.service === name) {
        report.error(at, 'BAD_LINK', `service \`${name}\` cannot link to itself`, { hint: 'its own name and aliases already resolve to it' });
        return;
      }
      if (target === undefined) {
        const near = suggest(link.service, Object.keys(declared));
        report.error(at, declared[link.service] !== undefined ? 'DISABLED_DEPENDENCY' : 'UNDEFINED_SERVICE', declared[link.service] !== undefined ? `linked service \`${link.service}\` is not enabled by any active profile` : `linked service \`${link.service}\` is not a service of this spec`, {
          expected: `one of the services: ${Object.keys(services).join(', ')}`,
          hint: declared[link.service] !== undefined ? 'enable its profile (--profile), or remove the link' : near ? `did you mean \`${near}\`?` : 'declare it under `services:`, or use external_links for a container outside the project',
        });
        return;
      }
      if (Object.keys(s.networks).length > 0 && Object.keys(target.networks).length > 0 && !Object.keys(s.networks).some((n) => n in target.networks)) {
        report.error(at, 'BAD_LINK', `service \`${name}\` links to \`${link.service}\`, but they share no network`, { hint: `put both on one network (\`networks:\`), or remove the link` });
        return;
      }
      deps[link.service] ??= { condition: 'service_started', required: true, restart: false };
    });
    services[name] = { ...s, dependsOn: Object.fromEntries(Object.entries(deps).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) };
  }
}
