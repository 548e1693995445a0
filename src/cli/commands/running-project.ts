// The project the lifecycle verbs (restart, stop, start, kill) act on: the one the last `up`
// applied (its snapshot), not the spec file as it is now — as compose acts on the containers it
// made, so an edit to the spec is applied by `up`, never by `restart`. Works with -p NAME and no
// spec file. Service names are checked here: unknown ones are a UserError with a "did you mean".
import { UserError } from '../../errors.js';
import { readSnapshot } from '../../state/snapshot.js';
import type { Project } from '../../spec/project.js';
import { stateRoots } from '../../state/paths.js';
import { supervisorControl } from '../../supervisor/index.js';
import type { CommandContext } from '../context.js';
import { resolveProjectName } from '../../spec/project-name.js';
import { executorEnv, type RunEnv } from './executor-env.js';
import { assertServices } from './assert-services.js';
import { replicaKeys } from '../../planner/replicas.js';

/** What a lifecycle verb acts on: the env, and the project as up applied it (undefined when nothing is up). */
export interface RunningProject {
  readonly env: RunEnv;
  readonly name: string;
  readonly project: Project | undefined;
}

/** Resolves the project and checks `names` against it (or, when nothing is up, against the spec). */
export async function runningProject(ctx: CommandContext, verb: string, names: readonly string[], stopTimeoutMs?: number): Promise<RunningProject> {
  // The spec loader (~0.1 s of module loading) only when the name is not given with -p.
  const name =
    ctx.global.projectName !== undefined
      ? resolveProjectName({ flag: ctx.global.projectName })
      : await (await import('../project.js')).projectNameFromContext(ctx);
  const env = executorEnv(ctx, supervisorControl(stateRoots(ctx.env as NodeJS.ProcessEnv)), stopTimeoutMs);
  const project = (await readSnapshot(env.roots, name))?.project;
  const missing = names.filter((n) => !project?.services[n]);
  if (missing.length > 0) {
    // Named in the spec but not up yet: say so; otherwise the nearest known name. Named, a service
    // behind a profile no active one enables is in the spec too (loadNaming), as for `up` and
    // `run`; a load the named services' profiles break is that load's error.
    const { loadNaming } = await import('../project.js');
    const loaded = await loadNaming(ctx, missing).catch(() => undefined);
    const spec = loaded?.project;
    const unmade = spec && missing.find((n) => spec.services[n]);
    if (unmade !== undefined) {
      throw new UserError('SERVICE_NOT_CREATED', `stack ${verb}: service "${unmade}" of project ${name} has not been created`, `\`stack up ${unmade}\` creates and starts it`);
    }
    if (loaded?.hiding instanceof UserError) throw loaded.hiding;
    assertServices(project ?? spec ?? { name, workingDir: '', files: [], services: {}, networks: {}, volumes: {} }, names, verb);
  }
  return { env, name, project };
}

/** `names` with every replica of each (a scaled service's name stands for all its replicas, planner/replicas.ts). */
export function withReplicas(project: Project, names: readonly string[]): string[] {
  return [...new Set(names.flatMap((n) => replicaKeys(project.services, n)))];
}
