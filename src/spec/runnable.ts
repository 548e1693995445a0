// What `plan` and `up` require of a Project today: every service runs a host program. Images
// are modelled (so `config` shows them) but cannot run yet; this names every such service.
import { UserError } from '../errors.js';
import type { Project } from './project.js';

/** One reason a service cannot run yet. */
export interface NotRunnable {
  readonly service: string;
  readonly reason: string;
}

/** The services of `project` that stack cannot run yet, each with the reason. */
export function notRunnable(project: Project): NotRunnable[] {
  const out: NotRunnable[] = [];
  for (const s of Object.values(project.services)) {
    if (s.image !== undefined) out.push({ service: s.name, reason: `uses image \`${s.image}\`` });
    else if (s.build !== undefined) out.push({ service: s.name, reason: 'needs `build:`' });
    else if (!s.command?.length && !s.entrypoint?.length) out.push({ service: s.name, reason: 'has no `command` or `entrypoint`' });
  }
  return out;
}

/** Throws IMAGES_UNSUPPORTED naming every service that needs an image (or has nothing to run). */
export function assertRunnable(project: Project): void {
  const problems = notRunnable(project);
  if (problems.length === 0) return;
  throw new UserError(
    'IMAGES_UNSUPPORTED',
    `stack cannot run ${problems.length === 1 ? 'this service' : 'these services'} yet:\n` + problems.map((p) => `  ${p.service}: ${p.reason}`).join('\n'),
    'stack runs programs installed on this host: remove `image:`/`build:` and give each service a `command:` (images come later; `stack config` still shows them)',
  );
}
