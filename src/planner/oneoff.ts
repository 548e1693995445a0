// One-offs (`stack run`): copies of a service with a name of their own, recorded like services
// but not part of the project. `up` neither counts nor removes them; `down` and `gc` do. A
// one-off's spec carries ONE_OFF_LABEL, so a plan can tell it from a service of the same name.
import { UserError } from '../errors.js';
import type { Project } from '../spec/project.js';
import type { LiveState } from './live.js';

/** Label every one-off's spec carries; its value is the service it copies (compose's `com.docker.compose.oneoff`). */
export const ONE_OFF_LABEL = 'stack.oneoff';

/** Live one-offs: they are no orphans of the project, only `down` removes them. */
export function liveOneOffs(live: LiveState): string[] {
  return Object.keys(live.services)
    .filter((s) => live.services[s]?.oneOff !== undefined)
    .sort();
}

/**
 * A service of the project that has the name of a live one-off (a service added to the spec
 * after `stack run` chose that name) would take over the one-off's netns, veths and cgroups:
 * refused until the one-off is gone.
 */
export function assertNoOneOffClash(project: Project, live: LiveState): void {
  for (const name of Object.keys(project.services)) {
    const observed = live.services[name];
    if (observed?.oneOff === undefined || project.services[name]?.labels[ONE_OFF_LABEL] !== undefined) continue;
    throw new UserError(
      'ONE_OFF_NAME_CLASH',
      `service "${name}" has the name of a one-off of service "${observed.oneOff}" (made by \`stack run\`)`,
      '`stack down` removes the one-off; or rename the service',
    );
  }
}
