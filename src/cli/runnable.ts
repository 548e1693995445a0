// What `up`, `plan` and `run` refuse before anything is planned, told where the spec says it.
import type { CommandContext } from './context.js';
import { loadOptions } from './project.js';
import { SpecError } from '../spec/diagnostics.js';
import type { Project } from '../spec/project.js';
import { assertRunnable } from '../planner/index.js';

/**
 * planner's assertRunnable, its refusals (a service that needs a build, one with nothing to run,
 * a secret's missing file, a platform this host cannot run) placed in the spec's files: they are
 * found in the loaded Project, which keeps no places, so the files are read again to say where
 * (file:line:col), only when something is refused.
 */
export async function assertRunnableIn(ctx: CommandContext, project: Project): Promise<void> {
  try {
    assertRunnable(project);
  } catch (e) {
    if (!(e instanceof SpecError)) throw e;
    const [{ loadRaw }, { sortDiagnostics }] = await Promise.all([import('../spec/load.js'), import('../spec/index.js')]);
    const raw = await loadRaw(loadOptions(ctx)).catch(() => undefined);
    if (raw === undefined) throw e;
    const placed = e.diagnostics.map((d) => {
      const at = d.location === undefined && d.path !== undefined ? raw.locate(d.path) : undefined;
      return at === undefined ? d : { ...d, location: at };
    });
    throw new SpecError(sortDiagnostics(placed));
  }
}
