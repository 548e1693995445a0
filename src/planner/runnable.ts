// Which services stack can run: host programs, images, and images built from a local
// `build:` context (src/build; a remote context is refused by name before anything is planned).
import { SpecError, type Diagnostic } from '../spec/diagnostics.js';
import type { Project, Service } from '../spec/project.js';
import { checkHostSupport } from './host-support.js';

/** Whether stack builds the service's image: it has `build:` of a local folder (one with a remote context and an `image:` runs that image, pulled). */
export function builtLocally(service: Pick<Service, 'build'>): boolean {
  return service.build !== undefined && service.build.context.startsWith('/');
}

/** Errors for every service that cannot run, all at once; empty when the project can run. */
export function checkRunnable(project: Project): Diagnostic[] {
  const found: Diagnostic[] = [];
  for (const name of Object.keys(project.services).sort()) {
    const service = project.services[name];
    if (service?.build !== undefined && !builtLocally(service) && service.image === undefined) {
      found.push({
        severity: 'error',
        code: 'BUILD_CONTEXT_REMOTE',
        path: ['services', name, 'build', 'context'],
        message: `service "${name}" builds from ${service.build.context}; stack builds only from a local folder`,
        expected: 'a folder on this machine',
        found: service.build.context,
        hint: 'clone the repository and point `build.context` at its folder',
      });
      continue;
    }
    if (!service || service.image !== undefined || builtLocally(service)) continue;
    if (!service.command?.length && !service.entrypoint?.length) {
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
  found.push(...checkSecretSources(project), ...checkHostSupport(project));
  return found;
}

/** Throws a SpecError naming every service that cannot run (what `plan` and `up` call first). */
export function assertRunnable(project: Project): void {
  const errors = checkRunnable(project);
  if (errors.length > 0) throw new SpecError(errors);
}

/**
 * What `up` refuses before anything starts, for the secrets and configs the services use: an
 * external one (stack has no store to take it from), a file or a variable that was missing
 * when the spec was loaded. All at once, each naming the service, the key and the file.
 */
export function checkSecretSources(project: Project): Diagnostic[] {
  const found: Diagnostic[] = [];
  for (const name of Object.keys(project.services).sort()) {
    const service = project.services[name]!;
    for (const kind of ['secret', 'config'] as const) {
      const top = kind === 'secret' ? 'secrets' : 'configs';
      const defs = project[top] ?? {};
      for (const m of service[top] ?? []) {
        const def = defs[m.source];
        if (def === undefined) continue;
        const base = { severity: 'error' as const, path: [top, m.source] };
        if (def.source.type === 'external') {
          found.push({ ...base, code: 'EXTERNAL_SECRET', message: `service "${name}" uses external ${kind} \`${m.source}\`; stack has no ${kind} store to take it from`, hint: `define it with \`file:\` or \`environment:\`${kind === 'config' ? ' or `content:`' : ''} instead of \`external: true\`` });
        } else if (def.source.type === 'file' && def.source.missing) {
          found.push({ ...base, code: 'SECRET_FILE_MISSING', message: `service "${name}" needs ${kind} \`${m.source}\`, whose file ${def.source.path} does not exist`, hint: `create ${def.source.path}, or point \`${top}.${m.source}.file\` at the right file` });
        } else if (def.source.type === 'environment' && def.source.unset) {
          found.push({ ...base, code: 'SECRET_VARIABLE_UNSET', message: `service "${name}" needs ${kind} \`${m.source}\`, whose variable ${def.source.variable} is not set`, hint: `set ${def.source.variable} in the environment of \`stack up\` or in the project's .env` });
        }
      }
    }
  }
  return found;
}
