// `stack config --hash` and `--images`, as `docker compose config` prints them: `service hash`
// per line (the configuration hash the planner stamps on a service and compares to decide a
// recreate: an image service's hash is that of the service resolved from the image store, as
// `up` and `plan` hash it), and one image reference per line.
import type { Project } from '../../spec/project.js';
import { hashService } from '../../planner/index.js';
import { stateRoots } from '../../state/paths.js';
import { assertServices } from './assert-services.js';
import { hasImages } from './ready-images.js';

/** `service hash` lines for `which` (`*` for all, else service names separated by commas). */
export async function configHashes(spec: Project, which: string, env: NodeJS.ProcessEnv): Promise<string> {
  const names = which === '*' ? Object.keys(spec.services) : which.split(',').map((s) => s.trim()).filter((s) => s !== '');
  assertServices(spec, names, 'config --hash');
  const project = hasImages(spec) ? await resolveFromStore(spec, env) : spec;
  return names.map((n) => `${n} ${hashService(project.services[n]!).hash}\n`).join('');
}

/** The image of each service that runs one, one per line, in service order (as compose; duplicates kept). */
export function configImages(project: Project): string {
  return Object.values(project.services)
    .flatMap((s) => (s.image !== undefined ? [`${s.image}\n`] : []))
    .join('');
}

/** The project with the image services whose images are in the store resolved (nothing pulled), as `plan` does. */
async function resolveFromStore(project: Project, env: NodeJS.ProcessEnv): Promise<Project> {
  const [{ ImageStore }, { resolveProject }] = await Promise.all([import('../../image/store.js'), import('../../image/resolve.js')]);
  const { withBuiltImageNames } = await import('./build.js');
  return resolveProject(withBuiltImageNames(project), [], ImageStore.forRoots(stateRoots(env)));
}
