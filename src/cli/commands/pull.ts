// `stack pull [SERVICE...]`: pulls the images of the project's services into the image store,
// as `docker compose pull` does: services with only `build:` (or no image) are skipped with a
// note, an image named by several services is pulled once, the images in parallel, `--policy
// missing` pulls only what the store lacks, `--ignore-pull-failures` turns failures into warnings.
// Progress on stderr (render/pull-progress.ts): live layers on a TTY, one line per image otherwise.
// Registries on localhost and 127.0.0.0/8 are spoken to over http (RegistryClient's rule).
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { loadFromContext } from '../project.js';
import { assertServices } from './assert-services.js';
import { UserError } from '../../errors.js';
import { stateRoots } from '../../state/paths.js';
import { findCredentials } from '../../image/credentials.js';
import type { PlatformSpec } from '../../image/platform.js';
import { pullImage } from '../../image/pull.js';
import { parseImageReference } from '../../image/reference.js';
import { ImageStore } from '../../image/store.js';
import { progressMode } from '../render/index.js';
import { pullMode, pullReporter, reportedPull } from '../render/pull-progress.js';
import { insecureRegistries } from '../../image/insecure.js';
import { registryTimeoutMs } from './ready-images.js';
import { withDependencies } from '../../planner/targets.js';

const HELP = `Usage: stack pull [OPTIONS] [SERVICE...]

Pull the images of the project's services (all of them when none is named) into the image store,
all at once.

Options:
      --ignore-pull-failures  Warn about images that fail to pull and go on (exit 0)
      --ignore-buildable      Pull nothing for a service that has build: (stack build makes its image)
      --include-deps          Pull the images of the services the named ones depend on too
      --policy POLICY         always (default) or missing: pull only images not in the store
      --progress MODE         auto (default), tty, plain, json or quiet
  -q, --quiet                 Print nothing but errors (--progress quiet)
  -h, --help                  Print this help
`;

/** One image to pull and the services that name it. */
interface Job {
  readonly image: string;
  readonly ref: ReturnType<typeof parseImageReference>;
  readonly services: string[];
  /** A failure is a warning: --ignore-pull-failures, or every service naming it can be built. */
  ignore: boolean;
  platform: PlatformSpec | undefined;
}

/** Runs `stack pull`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandOptions('pull', ctx.args, {
    'ignore-pull-failures': { type: 'boolean', default: false },
    'ignore-buildable': { type: 'boolean', default: false },
    'include-deps': { type: 'boolean', default: false },
    policy: { type: 'string', default: 'always' },
    progress: { type: 'string' },
    quiet: { type: 'boolean', short: 'q', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  }, true);
  if (values.help) {
    ctx.stdout.write(HELP);
    return 0;
  }
  const policy = values.policy;
  if (policy !== 'always' && policy !== 'missing') {
    throw new UserError('CLI_BAD_ARGUMENTS', `unknown pull policy "${policy}"`, 'use --policy always or --policy missing');
  }
  const quiet = values.quiet;
  const mode = quiet ? 'quiet' : pullMode(progressMode(values.progress), ctx.stderr, ctx.env as NodeJS.ProcessEnv);
  const project = await loadFromContext(ctx, quiet, positionals);
  const known = Object.keys(project.services);
  assertServices(project, positionals, 'pull');
  // compose's --include-deps: what the named ones depend on too; --ignore-buildable: none with build:.
  const named = positionals.length ? (values['include-deps'] ? withDependencies(project, positionals) : [...new Set(positionals)]) : known;
  const selected = values['ignore-buildable'] ? named.filter((s) => project.services[s]?.build === undefined) : named;
  const store = ImageStore.forRoots(stateRoots(ctx.env as NodeJS.ProcessEnv));
  const reporter = await pullReporter(ctx.stderr, mode);
  const insecure = insecureRegistries(ctx.env as NodeJS.ProcessEnv);
  const timeoutMs = registryTimeoutMs(ctx.env as NodeJS.ProcessEnv);
  const failures: UserError[] = [];
  try {
    // Each image once, in the order services name them.
    const jobs = new Map<string, Job>();
    for (const name of selected) {
      const service = project.services[name]!;
      if (service.image === undefined) {
        reporter.note(service.build ? `${name}: skipped, no image to pull (built from build:)` : `${name}: skipped, no image`);
        continue;
      }
      const ignore = values['ignore-pull-failures'] || service.build !== undefined;
      let ref: ReturnType<typeof parseImageReference>;
      try {
        ref = parseImageReference(service.image);
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        const named = new UserError(e.code, `service ${name}: ${e.message}`, e.hint, { cause: e });
        reporter.imageFailed(service.image, named);
        if (!ignore) failures.push(named);
        continue;
      }
      const job = jobs.get(ref.canonical);
      if (job) {
        job.services.push(name);
        job.ignore &&= ignore;
        continue;
      }
      jobs.set(ref.canonical, { image: service.image, ref, services: [name], ignore, platform: service.platform });
    }
    await Promise.all([...jobs.values()].map(async (job) => {
      const { image, ref } = job;
      const before = await store.getRecord(ref.canonical);
      if (policy === 'missing' && before && (await Promise.all(before.layers.map((l) => store.hasLayer(l)))).every(Boolean)) {
        reporter.note(`${image}: in the store, not pulled (--policy missing)`);
        return;
      }
      const who = job.services.length === 1 ? `service ${job.services[0]}` : `services ${job.services.join(', ')}`;
      try {
        await reportedPull(
          reporter,
          image,
          async (onProgress) => {
            const credentials = findCredentials(ref.registry, { env: ctx.env as NodeJS.ProcessEnv });
            return pullImage(image, { store, insecure, timeoutMs, ...(job.platform ? { platform: job.platform } : {}), ...(credentials ? { credentials } : {}), onProgress });
          },
          (e) => (e instanceof UserError ? new UserError(e.code, `${who}: ${e.message.includes(image) ? e.message : `${image}: ${e.message}`}`, e.hint, { cause: e }) : e),
        );
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        if (!job.ignore) failures.push(e);
      }
    }));
  } finally {
    await reporter.close();
  }
  // The first failure that is not ignored fails the command (the display showed them all).
  if (failures.length) throw failures[0];
  return 0;
}
