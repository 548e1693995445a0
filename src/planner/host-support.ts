// What `up`, `run` and `plan` refuse because this host cannot run it (spec/host-support.ts says
// what and why; `config` only warns): all at once, each naming the service and the key.
import type { Diagnostic } from '../spec/diagnostics.js';
import { hostProblems } from '../spec/host-support.js';
import type { PlatformSpec } from '../spec/platform.js';
import type { Project } from '../spec/project.js';

/** Errors for services this host cannot run; empty when every one can. */
export function checkHostSupport(project: Project, host?: PlatformSpec): Diagnostic[] {
  return Object.keys(project.services)
    .sort()
    .flatMap((name) =>
      hostProblems(name, project.services[name]!, host).map(({ key, ...p }) => ({ severity: 'error' as const, path: ['services', name, key], ...p })),
    );
}
