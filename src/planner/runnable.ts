// Which services stack can run today: host commands only. A service that needs an image
// (`image:` or `build:`) is refused by name before anything is planned (images come later).
import { SpecError, type Diagnostic } from '../spec/diagnostics.js';
import type { Project } from '../spec/project.js';

/** Errors for every service that cannot run yet, all at once; empty when the project can run. */
export function checkRunnable(project: Project): Diagnostic[] {
  const found: Diagnostic[] = [];
  for (const name of Object.keys(project.services).sort()) {
    const service = project.services[name];
    if (!service) continue;
    if (service.image !== undefined || service.build !== undefined) {
      const key = service.image !== undefined ? 'image' : 'build';
      const what = service.image !== undefined ? `image "${service.image}"` : `a build of ${service.build?.context}`;
      const example = `command: ["${guessProgram(service.image)}", ...]`;
      found.push({
        severity: 'error',
        code: 'NEEDS_IMAGE',
        path: ['services', name, key],
        message: `service "${name}" needs ${what} to run; stack runs host programs only for now`,
        expected: 'a host program in `command:` (or `entrypoint:`)',
        found: service.image !== undefined ? `image: ${service.image}` : 'build:',
        hint: `images come later: remove \`${key}:\` and give "${name}" a host \`command:\`, e.g. ${example}`,
      });
    } else if (!service.command?.length && !service.entrypoint?.length) {
      found.push({
        severity: 'error',
        code: 'NO_COMMAND',
        path: ['services', name],
        message: `service "${name}" has nothing to run`,
        expected: '`command:` or `entrypoint:` naming a host program',
        found: 'neither',
        hint: `give "${name}" a \`command:\`, e.g. command: ["node", "server.js"]`,
      });
    }
  }
  return found;
}

/** Throws a SpecError naming every service that cannot run (what `plan` and `up` call first). */
export function assertRunnable(project: Project): void {
  const errors = checkRunnable(project);
  if (errors.length > 0) throw new SpecError(errors);
}

/** `postgres:16-alpine` → `postgres`, `ghcr.io/acme/api:1` → `api`: a likely host program. */
function guessProgram(image: string | undefined): string {
  if (!image) return 'program';
  const last = image.split('/').pop() ?? image;
  return last.split(/[:@]/)[0] || 'program';
}
