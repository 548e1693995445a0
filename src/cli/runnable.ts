// What `up`, `plan` and `run` refuse before anything is planned, told where the spec says it.
import type { CommandContext } from './context.js';
import { loadOptions } from './project.js';
import { SpecError, type Diagnostic } from '../spec/diagnostics.js';
import type { Project } from '../spec/project.js';
import { checkRunnable } from '../planner/index.js';
import { UserError } from '../errors.js';
import { parseReplicaKey } from '../replica-key.js';

/**
 * planner's checkRunnable (a service that needs a build, one with nothing to run, a secret's
 * missing file, a platform this host cannot run) and each `image:` read as a reference, all at
 * once, each placed in the spec's files: they are found in the loaded Project, which keeps no
 * places, so the files are read again to say where (file:line:col), only when something is
 * refused.
 */
export async function assertRunnableIn(ctx: CommandContext, project: Project): Promise<void> {
  // A scaled service's replicas 2..N (`web#2`) are refused as its first is: said once, there.
  const found = [...checkRunnable(project), ...(await imageReferences(project))].filter((d) => typeof d.path?.[1] !== 'string' || parseReplicaKey(d.path[1]) === undefined);
  if (!found.some((d) => d.severity === 'error')) return;
  const [{ loadRaw }, { sortDiagnostics }] = await Promise.all([import('../spec/load.js'), import('../spec/index.js')]);
  const raw = await loadRaw(loadOptions(ctx)).catch(() => undefined);
  const placed = found.map((d) => {
    const at = raw !== undefined && d.location === undefined && d.path !== undefined ? raw.locate(d.path) : undefined;
    return at === undefined ? d : { ...d, location: at };
  });
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
