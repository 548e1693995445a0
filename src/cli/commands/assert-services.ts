// Checking the service names a command was given against the project, with a did-you-mean:
// one module that loads nothing heavy, so light commands (pull) do not load the executor.
import { UserError } from '../../errors.js';
import type { Project } from '../../spec/project.js';
import { closest } from '../suggest.js';

/**
 * A UserError naming the first of `names` the project does not have, with a "did you mean": among
 * its services and those behind a profile no active one enables (named, those are enabled).
 */
export function assertServices(project: Project, names: readonly string[], verb: string): void {
  const known = Object.keys(project.services);
  for (const name of names) {
    if (project.services[name]) continue;
    const near = closest(name, [...known, ...(project.disabledServices ?? [])]);
    throw new UserError(
      'SERVICE_UNKNOWN',
      `stack ${verb}: project ${project.name} has no service "${name}"`,
      near ? `did you mean "${near}"?` : known.length ? `its services: ${known.join(', ')}` : 'it has no services',
    );
  }
}
