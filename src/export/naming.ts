// Kubernetes names from compose names. compose allows `_`, `.` and capitals; a Kubernetes
// object name used here must be a DNS-1123 label (and a Service name must start with a
// letter), so one rule makes every name valid for every kind: lowercase letters, digits and
// `-`, a letter first, an alphanumeric last, at most 63 characters.
import { createHash } from 'node:crypto';

/** A valid DNS-1123 label that starts with a letter (RFC 1035 label: what a Service name needs). */
export const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** Longest label Kubernetes accepts. */
export const MAX_LABEL = 63;

/** True when `name` can be used as is. */
export function isDnsLabel(name: string): boolean {
  return name.length <= MAX_LABEL && DNS_LABEL.test(name);
}

/**
 * `name` made into a DNS label: lowercased, every other character `-`, runs of `-` collapsed,
 * `s-` before a leading digit, and cut to `max` characters with a short hash of the original
 * when too long (two long names that share a beginning stay apart).
 */
export function toDnsLabel(name: string, max = MAX_LABEL): string {
  let out = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (out === '') out = 'x';
  if (!/^[a-z]/.test(out)) out = `s-${out}`;
  if (out.length > max) {
    const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
    out = `${out.slice(0, max - 9).replace(/-+$/, '')}-${hash}`;
  }
  return out;
}

/** Compose name → Kubernetes name for every service, network and volume of one export. */
export interface Names {
  /** Services: the workload's, its pods' and its Service's name. */
  readonly services: ReadonlyMap<string, string>;
  /** Named volumes: their claim's name. */
  readonly volumes: ReadonlyMap<string, string>;
  /** Secrets and configs: their object's name (each kind its own space). */
  readonly secrets: ReadonlyMap<string, string>;
  readonly configs: ReadonlyMap<string, string>;
  /** Networks: the label key part and the policy's name. */
  readonly networks: ReadonlyMap<string, string>;
}

/** Maps compose names to labels, reporting names two compose names would share. */
export function nameAll(keys: readonly string[], max = MAX_LABEL): { names: Map<string, string>; clashes: [string, string, string][] } {
  const names = new Map<string, string>();
  const owner = new Map<string, string>();
  const clashes: [string, string, string][] = [];
  for (const key of [...keys].sort()) {
    const name = toDnsLabel(key, max);
    const first = owner.get(name);
    if (first !== undefined) clashes.push([first, key, name]);
    else owner.set(name, key);
    names.set(key, name);
  }
  return { names, clashes };
}
