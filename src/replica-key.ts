// The key of one replica of a scaled service (records, netns, cgroups, files): the naming contract
// of names.ts for replicas, apart so the pure planner can use it without names.ts, which hashes
// long names (SHA-256, through sys/lazy-crypto.ts, which only the planner's hash.ts may use).
// Pure: no imports.

/** What separates a service from its replica number in the key of replica 2..N (never in a service name). */
export const REPLICA_MARK = '#';

/**
 * The key (records, netns, cgroups, files) of replica `index` of `service`: the service's own
 * name for replica 1 (a service of one replica is named as it always was), `<service>#<index>`
 * from 2 on. `#` is in no service name, so no replica's key is another service's name.
 */
export function replicaKey(service: string, index: number): string {
  return index === 1 ? service : `${service}${REPLICA_MARK}${index}`;
}

/** `{service, index}` of a replica key `<service>#<index>` (index >= 2); undefined for any other name. */
export function parseReplicaKey(key: string): { service: string; index: number } | undefined {
  const at = key.lastIndexOf(REPLICA_MARK);
  if (at <= 0) return undefined;
  const service = key.slice(0, at);
  const digits = key.slice(at + 1);
  if (!/^[a-zA-Z0-9._-]+$/.test(service) || service === '.' || service === '..' || !/^[1-9][0-9]*$/.test(digits) || Number(digits) < 2) return undefined;
  return { service, index: Number(digits) };
}
