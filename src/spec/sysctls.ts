// `sysctls:` as compose reads it (a map or a list of NAME=VALUE), and which of them stack can set
// inside a service's own namespaces: the ones Docker allows (runc's validation): `net.*` in the
// service's network namespace, and the IPC ones (`kernel.msgmax/msgmnb/msgmni`, `kernel.sem`,
// `kernel.shmall/shmmax/shmmni`, `kernel.shm_rmid_forced`, `fs.mqueue.*`) in its IPC namespace.
// Anything else would change the host: refused, with the reason.
import type { KeyPath } from './raw.js';
import type { Report } from './report.js';
import { sysctlKind } from './sysctl-kind.js';


/** Reads `sysctls:`; problems go to `report`; absent or empty gives undefined. */
export function sysctls(spec: unknown, at: (...rest: (string | number)[]) => KeyPath, report: Report): Record<string, string> | undefined {
  if (spec === undefined || spec === null) return undefined;
  const entries: [string, unknown, KeyPath][] = [];
  if (Array.isArray(spec)) {
    spec.forEach((item: unknown, i) => {
      const text = String(item);
      const eq = text.indexOf('=');
      if (eq <= 0) {
        report.error(at('sysctls', i), 'BAD_SYSCTL', `cannot read \`${text}\` as a sysctl`, { expected: 'NAME=VALUE, e.g. net.core.somaxconn=1024' });
        return;
      }
      entries.push([text.slice(0, eq).trim(), text.slice(eq + 1).trim(), at('sysctls', i)]);
    });
  } else {
    for (const [k, v] of Object.entries(spec as Record<string, unknown>)) entries.push([k, v, at('sysctls', k)]);
  }
  const out: Record<string, string> = {};
  for (const [rawName, value, path] of entries) {
    const name = rawName.replaceAll('/', '.');
    const kind = sysctlKind(name);
    if (!kind.ok) {
      report.error(path, 'BAD_SYSCTL', `sysctl \`${name}\` ${kind.reason}`, {
        expected: 'a namespaced sysctl: net.*, kernel.msgmax/msgmnb/msgmni, kernel.sem, kernel.shmall/shmmax/shmmni, kernel.shm_rmid_forced or fs.mqueue.*',
        hint: 'set host-wide sysctls on the host itself (sysctl -w), not in a service',
      });
      continue;
    }
    if (value === null || value === undefined || typeof value === 'object' || String(value).trim() === '' || String(value).includes('\n')) {
      report.error(path, 'BAD_SYSCTL', `sysctl \`${name}\` has no value`, { expected: 'a value on one line, e.g. 1024 or "4096 87380 6291456"' });
      continue;
    }
    out[name] = String(value).trim();
  }
  return Object.keys(out).length > 0 ? Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1))) : undefined;
}

/** What the namespace check reads of a service. */
interface SysctlService {
  readonly sysctls?: Readonly<Record<string, string>>;
  readonly networkMode?: { readonly kind: string };
  readonly ipcMode?: { readonly kind: string };
}

/**
 * Refuses sysctls whose namespace the service does not own, as Docker does: `net.*` with
 * `network_mode: host` (they would change the host) or `service:NAME` (another service's netns),
 * the IPC ones with `ipc: host`.
 */
export function checkSysctlModes(services: Readonly<Record<string, SysctlService>>, report: Report): void {
  for (const [name, s] of Object.entries(services)) {
    for (const key of Object.keys(s.sysctls ?? {})) {
      const kind = sysctlKind(key);
      if (!kind.ok) continue;
      const mode = kind.namespace === 'net' ? s.networkMode?.kind : s.ipcMode?.kind;
      const modeKey = kind.namespace === 'net' ? 'network_mode' : 'ipc';
      if (mode === 'host') {
        report.error(['services', name, 'sysctls', key], 'CONFLICT', `sysctl \`${key}\` would change the host: service \`${name}\` uses the host's ${kind.namespace === 'net' ? 'network' : 'IPC'} namespace (\`${modeKey}: host\`)`, {
          hint: `remove the sysctl, or give the service its own ${kind.namespace === 'net' ? 'network' : 'IPC'} namespace`,
        });
      } else if (mode === 'service' && kind.namespace === 'net') {
        report.error(['services', name, 'sysctls', key], 'CONFLICT', `sysctl \`${key}\` would change another service's network namespace (\`network_mode: service:\`)`, {
          hint: 'set it on the service that owns the network namespace',
        });
      }
    }
  }
}
