// Images readied before a command that starts services plans (`up`, `run`, `watch`): the
// images its services need pulled under their pull policies (or `--pull`), each once and in
// parallel, then every image service resolved from the store (image/resolve.ts). Loaded only
// when the project has an image service, so a host-program project never loads the image code.
import type { CommandContext } from '../context.js';
import type { Project } from '../../spec/project.js';
import { UserError } from '../../errors.js';
import type { StateRoots } from '../../state/paths.js';

/** `--pull` as `docker compose up` spells it; `policy` (the default) leaves each service's pull_policy. */
export function parsePullOption(value: string | undefined, verb: string): 'always' | 'missing' | 'never' | undefined {
  if (value === undefined || value === 'policy') return undefined;
  if (value === 'always' || value === 'missing' || value === 'never') return value;
  throw new UserError('CLI_BAD_ARGUMENTS', `stack ${verb}: --pull ${JSON.stringify(value)} is not a pull policy`, 'use --pull always, missing, never or policy (the default: each service\'s pull_policy)');
}

/** Whether any service of the project runs an image. */
export function hasImages(project: Project): boolean {
  return Object.values(project.services).some((s) => s.image !== undefined);
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
  options: { readonly pull?: 'always' | 'missing' | 'never'; readonly quiet?: boolean },
): Promise<Project> {
  if (!hasImages(project)) return project;
  const [{ ImageStore }, { imagesToPull, resolveProject }, { pullImage }, { findCredentials }, { insecureRegistries }] = await Promise.all([
    import('../../image/store.js'),
    import('../../image/resolve.js'),
    import('../../image/pull.js'),
    import('../../image/credentials.js'),
    import('../../image/insecure.js'),
  ]);
  const store = ImageStore.forRoots(roots);
  const wanted = await imagesToPull(project, services, store, options.pull);
  if (wanted.length > 0) {
    const env = ctx.env as NodeJS.ProcessEnv;
    const insecure = insecureRegistries(env);
    const say = (line: string): void => void (options.quiet || ctx.stderr.write(`${line}\n`));
    const results = await Promise.allSettled(
      wanted.map(async (request) => {
        const started = Date.now();
        const credentials = findCredentials(request.reference.registry, { env });
        let fetched = 0;
        const record = await pullImage(request.image, {
          store,
          insecure,
          ...(request.platform && { platform: request.platform }),
          ...(credentials && { credentials }),
          onProgress: (event) => {
            if (event.kind === 'layer' && event.state === 'done') fetched++;
            if (event.kind === 'warning') say(`${request.image}: warning: ${event.message}`);
          },
        });
        say(`${request.image}: ${fetched === 0 ? 'up to date' : `pulled ${record.digest.slice(0, 19)} (${fetched} of ${record.layers.length} layers) in ${((Date.now() - started) / 1000).toFixed(1)} s`}`);
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
  return resolveProject(project, services, store);
}
