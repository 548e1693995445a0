// `stack push [SERVICE...]`: pushes the images of the project's services to the registries their
// names say, as `docker compose push` does: a service is pushed when it has `build:` and names
// its image (`image:`, and its `build.tags`), each image once, from the image store (build it
// first: `stack build`). A service without both is left out, said once. `--include-deps` pushes
// what the named services depend on too; `--ignore-push-failures` turns failures into warnings.
// Registries on localhost and 127.0.0.0/8 are spoken to over http (RegistryClient's rule).
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { loadFromContext } from '../project.js';
import { assertServices } from './assert-services.js';
import { UserError } from '../../errors.js';
import { stateRoots } from '../../state/paths.js';
import { withDependencies } from '../../planner/targets.js';
import { registryTimeoutMs } from './registry-timeout.js';
import type { Project } from '../../spec/project.js';

const HELP = `Usage: stack push [OPTIONS] [SERVICE...]

Push the images of the services that have build: and name their image (image:, build.tags) to
their registries, from the image store (build them first: stack build).

Options:
      --ignore-push-failures  Warn about images that fail to push and go on (exit 0)
      --include-deps          Push the images of the services the named ones depend on too
  -q, --quiet                 Print nothing but errors
  -h, --help                  Print this help
`;

/** Runs `stack push`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandOptions('push', ctx.args, {
    'ignore-push-failures': { type: 'boolean', default: false },
    'include-deps': { type: 'boolean', default: false },
    quiet: { type: 'boolean', short: 'q', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  }, true);
  if (values.help) {
    ctx.stdout.write(HELP);
    return 0;
  }
  const quiet = values.quiet;
  const project = await loadFromContext(ctx, quiet, positionals);
  assertServices(project, positionals, 'push');
  const named = positionals.length ? (values['include-deps'] ? withDependencies(project, positionals) : [...new Set(positionals)]) : Object.keys(project.services);
  await pushServices(ctx, project, named, { quiet, ignoreFailures: values['ignore-push-failures'] });
  return 0;
}

/** How pushServices goes. */
export interface PushChoices {
  readonly quiet: boolean;
  /** A failure is a warning and the next image is pushed (--ignore-push-failures). */
  readonly ignoreFailures: boolean;
}

/** Pushes the images of `named` that have build: and name their image (also for `build --push`). */
export async function pushServices(ctx: CommandContext, project: Project, named: readonly string[], choices: PushChoices): Promise<void> {
  const quiet = choices.quiet;
  const say = (line: string) => {
    if (!quiet) ctx.stderr.write(`${line}\n`);
  };
  // Each image once, with the services that name it, in the order they come.
  const images = new Map<string, string[]>();
  const left: string[] = [];
  for (const name of named) {
    const service = project.services[name]!;
    if (service.build === undefined || service.image === undefined) {
      left.push(name);
      continue;
    }
    for (const image of [service.image, ...(service.build.tags ?? [])]) images.set(image, [...(images.get(image) ?? []), name]);
  }
  if (left.length > 0) say(`${left.join(', ')}: not pushed (a service is pushed when it has build: and names its image:)`);
  if (images.size === 0) return;
  const [{ pushImage }, { ImageStore }, { findCredentials }, { insecureRegistries }] = await Promise.all([
    import('../../image/push.js'),
    import('../../image/store.js'),
    import('../../image/credentials.js'),
    import('../../image/insecure.js'),
  ]);
  const env = ctx.env as NodeJS.ProcessEnv;
  const store = ImageStore.forRoots(stateRoots(env));
  const options = { store, insecure: insecureRegistries(env), timeoutMs: registryTimeoutMs(env), credentialsFor: (registry: string) => findCredentials(registry, { env }) };
  // One image at a time (its layers go three at once): two names of one image share their blobs.
  for (const [image, services] of images) {
    const who = services.length === 1 ? `service ${services[0]!}` : `services ${services.join(', ')}`;
    say(`${image}: pushing (${who})`);
    try {
      const r = await pushImage(image, options);
      const parts = [r.uploaded > 0 && `${r.uploaded} uploaded`, r.existed > 0 && `${r.existed} there already`, r.mounted > 0 && `${r.mounted} mounted`].filter(Boolean);
      say(`${image}: pushed ${r.digest} (blobs: ${parts.join(', ')})`);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      const failure = new UserError(e.code, `${who}: ${e.message.includes(image) ? e.message : `${image}: ${e.message}`}`, e.hint, { cause: e });
      if (!choices.ignoreFailures) throw failure;
      ctx.stderr.write(`warning: ${failure.message}\n`);
    }
  }
}
