// Which services stack can run: host programs and images. A service that only has `build:`
// is refused by name before anything is planned (stack builds no images); one with `image:`
// and `build:` runs the image, as compose does when the image can be pulled.
import { SpecError, type Diagnostic } from '../spec/diagnostics.js';
import type { Project } from '../spec/project.js';
import { checkSecretSources } from '../spec/secrets.js';

/** Errors for every service that cannot run, all at once; empty when the project can run. */
export function checkRunnable(project: Project): Diagnostic[] {
  const found: Diagnostic[] = [];
  for (const name of Object.keys(project.services).sort()) {
    const service = project.services[name];
    if (!service || service.image !== undefined) continue;
    if (service.build !== undefined) {
      found.push({
        severity: 'error',
        code: 'NEEDS_BUILD',
        path: ['services', name, 'build'],
        message: `service "${name}" needs a build of ${service.build.context}; stack does not build images`,
        expected: 'an `image:` to pull, or a host program in `command:`',
        found: 'build:',
        hint: `build the image with another tool (\`docker build\`, \`buildah\`, \`podman build\`), push it to a registry, and name it in \`image:\``,
      });
    } else if (!service.command?.length && !service.entrypoint?.length) {
      found.push({
        severity: 'error',
        code: 'NO_COMMAND',
        path: ['services', name],
        message: `service "${name}" has nothing to run`,
        expected: '`image:`, or `command:` (or `entrypoint:`) naming a host program',
        found: 'neither',
        hint: `give "${name}" an \`image:\` or a \`command:\`, e.g. command: ["node", "server.js"]`,
      });
    }
  }
  found.push(...checkSecretSources(project));
  return found;
}

/** Throws a SpecError naming every service that cannot run (what `plan` and `up` call first). */
export function assertRunnable(project: Project): void {
  const errors = checkRunnable(project);
  if (errors.length > 0) throw new SpecError(errors);
}
