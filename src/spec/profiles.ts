// Which services a set of active profiles enables, as compose decides it: a service without
// `profiles` is always on, one with profiles is on when any of them is active (`*`: all).

/** The names of the services enabled by `active` profiles. */
export function enabledServices(services: Readonly<Record<string, { profiles?: readonly string[] | undefined }>>, active: readonly string[]): Set<string> {
  const all = active.includes('*');
  const on = new Set<string>();
  for (const [name, s] of Object.entries(services)) {
    const profiles = s.profiles ?? [];
    if (profiles.length === 0 || all || profiles.some((p) => active.includes(p))) on.add(name);
  }
  return on;
}

/** Active profiles: the given list, else COMPOSE_PROFILES from the project environment. */
export function activeProfiles(given: readonly string[] | undefined, env: Readonly<Record<string, string>>): string[] {
  const list = given && given.length > 0 ? given : (env.COMPOSE_PROFILES ?? '').split(',');
  return list.map((p) => p.trim()).filter(Boolean);
}
