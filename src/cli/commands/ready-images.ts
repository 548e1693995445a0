// Images readied before a command that starts services plans (`up`, `run`, `watch`): the
// images its services need pulled under their pull policies (or `--pull`), each once and in
// parallel, then every image service resolved from the store (image/resolve.ts). Loaded only
// when the project has an image service, so a host-program project never loads the image code.
import type { CommandContext } from '../context.js';
import type { Project } from '../../spec/project.js';
import { UserError } from '../../errors.js';
import { builtLocally } from '../../planner/runnable.js';
import { registryTimeoutMs } from './registry-timeout.js';
import type { BuildWhen } from './build.js';
import type { StateRoots } from '../../state/paths.js';
import type { UserDb } from '../../runtime/index.js';
import type { Service } from '../../spec/project.js';
import type { ProgressMode } from '../render/index.js';

/** `--pull` as `docker compose up` spells it; `policy` (the default) leaves each service's pull_policy. */
export function parsePullOption(value: string | undefined, verb: string): 'always' | 'missing' | 'never' | undefined {
  if (value === undefined || value === 'policy') return undefined;
  if (value === 'always' || value === 'missing' || value === 'never') return value;
  throw new UserError('CLI_BAD_ARGUMENTS', `stack ${verb}: --pull ${JSON.stringify(value)} is not a pull policy`, 'use --pull always, missing, never or policy (the default: each service\'s pull_policy)');
}

export { REGISTRY_TIMEOUT_S, registryTimeoutMs } from './registry-timeout.js';

/** Whether any service of the project runs an image (pulled, or built from its `build:`). */
export function hasImages(project: Project): boolean {
  return Object.values(project.services).some((s) => s.image !== undefined || builtLocally(s));
}

/** When `--build` / `--no-build` build the images of services with `build:` (build.ts BuildWhen). */
export function buildWhen(build: boolean, noBuild: boolean, verb: string): BuildWhen {
  if (build && noBuild) throw new UserError('CLI_BAD_ARGUMENTS', `stack ${verb}: --build cannot be combined with --no-build`, 'choose one');
  return build ? 'always' : noBuild ? 'never' : 'missing';
}

/**
 * Pulls what `services` need (one line per image on stderr, or a live display on a TTY) and
 * returns the project with its image services resolved. A failed pull is a UserError naming
 * the image; nothing is started then.
 */
export async function readyImages(
  ctx: CommandContext,
  project: Project,
  services: readonly string[],
  roots: StateRoots,
  options: { readonly pull?: 'always' | 'missing' | 'never'; readonly progress?: ProgressMode; readonly build?: BuildWhen },
): Promise<Project> {
  if (!hasImages(project)) return project;
  const [{ ImageStore }, { imagesToPull, resolveProject }, { pullImage }, { findCredentials }, { insecureRegistries }, { pullMode, pullReporter, reportedPull }, { parseImageReference }] = await Promise.all([
    import('../../image/store.js'),
    import('../../image/resolve.js'),
    import('../../image/pull.js'),
    import('../../image/credentials.js'),
    import('../../image/insecure.js'),
    import('../render/pull-progress.js'),
    import('../../image/reference.js'),
  ]);
  const canonicalOf = (name: string): string[] => {
    try {
      return [parseImageReference(name).canonical];
    } catch {
      return []; // no reference: assertRunnableIn refused it already
    }
  };
  const store = ImageStore.forRoots(roots);
  const built = Object.values(project.services).filter(builtLocally);
  const build = built.length > 0 ? await import('./build.js') : undefined;
  // --no-build: a missing built image is said before anything is pulled.
  if (build !== undefined && options.build === 'never') project = await build.buildServices(ctx, project, services, roots, { when: 'never' });
  // An image a build here makes (its image:, <project>-<service>, build.tags) is never pulled, even for a service that only names it (compose: "being built").
  const produced = build === undefined ? new Set<string>() : new Set(built.flatMap((s) => [build.builtImageName(project, s), ...(s.build?.tags ?? [])]).flatMap((n) => canonicalOf(n)));
  const wanted = (await imagesToPull(project, services.filter((n) => !builtLocally(project.services[n] ?? {})), store, options.pull)).filter((r) => !produced.has(r.reference.canonical));
  if (wanted.length > 0) {
    const env = ctx.env as NodeJS.ProcessEnv;
    const insecure = insecureRegistries(env);
    const timeoutMs = registryTimeoutMs(env);
    const reporter = await pullReporter(ctx.stderr, pullMode(options.progress ?? 'auto', ctx.stderr, env));
    let results: PromiseSettledResult<unknown>[];
    try {
      results = await Promise.allSettled(
        wanted.map((request) => {
          const who = request.services.length === 1 ? `service "${request.services[0]}"` : `services ${request.services.map((s) => `"${s}"`).join(', ')}`;
          // The display's failed line has the pull's own error; the one thrown names the services too.
          return reportedPull(reporter, request.image, (onProgress) => {
            const credentials = findCredentials(request.reference.registry, { env });
            return pullImage(request.image, { store, insecure, timeoutMs, ...(request.platform && { platform: request.platform }), ...(credentials && { credentials }), onProgress });
          }).catch((e: unknown) => {
            throw e instanceof UserError ? new UserError(e.code, `${who}: ${e.message.includes(request.image) ? e.message : `${request.image}: ${e.message}`}`, e.hint, { cause: e }) : e;
          });
        }),
      );
    } finally {
      await reporter.close();
    }
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
  // Then the services with build: get their images built (as `when` says; they are never pulled),
  // on base images the pulls above may have brought already.
  if (build !== undefined && options.build !== 'never') {
    project = await build.buildServices(ctx, project, services, roots, { when: options.build ?? 'missing', quiet: options.progress === 'quiet', pull: options.pull === 'always' });
  }
  return resolveProject(project, services, store);
}

/** The users and groups of an image service's image (for `exec --user NAME`); undefined for a host program. */
export async function imageUserDb(service: Pick<Service, 'image' | 'imageRoot'>, roots: StateRoots): Promise<UserDb | undefined> {
  if (service.imageRoot === undefined) return undefined;
  const [{ loadLayeredUserDb }, { imageLayerDirs }] = await Promise.all([import('../../image/layered.js'), import('../../image/paths.js')]);
  return loadLayeredUserDb(imageLayerDirs(roots, service.imageRoot), service.image ?? service.imageRoot.reference);
}
