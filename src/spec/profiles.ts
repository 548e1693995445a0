// Which services a set of active profiles enables, as compose decides it: a service without
// `profiles` is always on, one with profiles is on when any of them is active (`*`: all).

/** The profiles of a service spec; tolerant of a service that failed validation. */
export function profilesOf(service: unknown): string[] {
  const profiles = service !== null && typeof service === 'object' ? (service as { profiles?: unknown }).profiles : undefined;
  return Array.isArray(profiles) ? profiles.filter((p): p is string => typeof p === 'string') : [];
}

/** The names of the services enabled by `active` profiles. */
export function enabledServices(services: Readonly<Record<string, unknown>>, active: readonly string[]): Set<string> {
  const all = active.includes('*');
  const on = new Set<string>();
  for (const [name, s] of Object.entries(services)) {
    const profiles = profilesOf(s);
    if (profiles.length === 0 || all || profiles.some((p) => active.includes(p))) on.add(name);
  }
  return on;
}

/** Active profiles: the given list, else COMPOSE_PROFILES from the project environment. */
export function activeProfiles(given: readonly string[] | undefined, env: Readonly<Record<string, string>>): string[] {
  const list = given && given.length > 0 ? given : (env.COMPOSE_PROFILES ?? '').split(',');
  return list.map((p) => p.trim()).filter(Boolean);
}
