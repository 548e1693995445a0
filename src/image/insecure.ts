// Registries the user lists as insecure (spoken to over plain http), read where Docker and this
// tool's users keep them: `STACK_INSECURE_REGISTRIES` (comma- or space-separated host[:port])
// and Docker's daemon config (`/etc/docker/daemon.json` "insecure-registries"). localhost and
// 127.0.0.0/8 need no listing (registry.ts isInsecureRegistry).
import { readFileSync } from 'node:fs';

/** Where Docker's daemon keeps its config. */
export const DOCKER_DAEMON_JSON = '/etc/docker/daemon.json';

/** The registries listed as insecure; unreadable or malformed files list none. */
export function insecureRegistries(env: NodeJS.ProcessEnv = process.env, daemonJson = DOCKER_DAEMON_JSON): string[] {
  const out = new Set<string>();
  for (const r of (env.STACK_INSECURE_REGISTRIES ?? '').split(/[\s,]+/)) if (r !== '') out.add(r);
  try {
    const parsed = JSON.parse(readFileSync(daemonJson, 'utf8')) as { 'insecure-registries'?: unknown };
    const listed = parsed['insecure-registries'];
    if (Array.isArray(listed)) for (const r of listed) if (typeof r === 'string' && r !== '' && !r.includes('/')) out.add(r);
  } catch {
    // no daemon config: nothing listed there
  }
  return [...out];
}
