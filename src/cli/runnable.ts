// What `up`, `plan` and `run` refuse before anything is planned, told where the spec says it.
import type { CommandContext } from './context.js';
import { loadOptions } from './project.js';
import { SpecError, sortDiagnostics, type Diagnostic } from '../spec/diagnostics.js';
import type { Project } from '../spec/project.js';
import { checkRunnable } from '../planner/index.js';
import { UserError } from '../errors.js';
import { parseReplicaKey } from '../replica-key.js';

/**
 * planner's checkRunnable (a service that needs a build, one with nothing to run, a secret's
 * missing file, a platform this host cannot run) and each `image:` read as a reference, all at
 * once, each placed in the spec's files: they are found in the loaded Project, which keeps no
 * places, so the files are read again to say where (file:line:col), only when something is
 * refused (not a spec read from stdin, `-f -`, which cannot be read twice). A scaled service is
 * looked at once: its replicas 2..N (`web#2`) are what its first is.
 */
export async function assertRunnableIn(ctx: CommandContext, project: Project): Promise<void> {
  const firsts: Project = { ...project, services: Object.fromEntries(Object.entries(project.services).filter(([key]) => parseReplicaKey(key) === undefined)) };
  const found = [...checkRunnable(firsts), ...(await imageReferences(firsts))];
  if (!found.some((d) => d.severity === 'error')) return;
  if (ctx.global.files.includes('-')) throw new SpecError(found);
  const [{ loadRaw }, { locate }] = await Promise.all([import('../spec/load.js'), import('../spec/findings.js')]);
  const raw = await loadRaw(loadOptions(ctx)).catch(() => undefined);
  const placed = found.map((d) => (raw === undefined || d.location !== undefined || d.path === undefined ? d : { ...d, location: locate(raw, d.path) }));
  throw new SpecError(sortDiagnostics(placed));
}

/** An error for each `image:` that is no image reference (`docker pull` would refuse it too). */
async function imageReferences(project: Project): Promise<Diagnostic[]> {
  const named = Object.entries(project.services).filter(([, s]) => s.image !== undefined);
  if (named.length === 0) return [];
  const { parseImageReference } = await import('../image/reference.js');
  return named.flatMap(([name, s]): Diagnostic[] => {
    try {
      parseImageReference(s.image!);
      return [];
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      return [{ severity: 'error', code: e.code, path: ['services', name, 'image'], message: `service "${name}": ${e.message}`, ...(e.hint !== undefined && { hint: e.hint }) }];
    }
  });
}
