// `stack pull [SERVICE...]`: pulls the images of the project's services into the image store,
// as `docker compose pull` does: services with only `build:` (or no image) are skipped with a
// note, an image named by several services is pulled once, `--policy missing` pulls only what the
// store lacks, `--ignore-pull-failures` turns failures into warnings. One plain line per image on
// stderr. Registries on localhost and 127.0.0.0/8 are spoken to over http (RegistryClient's rule).
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { loadFromContext } from '../project.js';
import { assertServices } from './assert-services.js';
import { UserError } from '../../errors.js';
import { stateRoots } from '../../state/paths.js';
import { findCredentials } from '../../image/credentials.js';
import { pullImage } from '../../image/pull.js';
import { parseImageReference } from '../../image/reference.js';
import { ImageStore } from '../../image/store.js';

const HELP = `Usage: stack pull [OPTIONS] [SERVICE...]

Pull the images of the project's services (all of them when none is named) into the image store.

Options:
      --ignore-pull-failures  Warn about images that fail to pull and go on (exit 0)
      --policy POLICY         always (default) or missing: pull only images not in the store
  -q, --quiet                 Print nothing but errors
  -h, --help                  Print this help
`;

/** Runs `stack pull`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandOptions('pull', ctx.args, {
    'ignore-pull-failures': { type: 'boolean', default: false },
    policy: { type: 'string', default: 'always' },
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
  const say = (line: string) => void (quiet || ctx.stderr.write(line + '\n'));
  const project = await loadFromContext(ctx, quiet);
  const known = Object.keys(project.services);
  assertServices(project, positionals, 'pull');
  const selected = positionals.length ? [...new Set(positionals)] : known;
  const store = ImageStore.forRoots(stateRoots(ctx.env as NodeJS.ProcessEnv));
  const done = new Set<string>();
  for (const name of selected) {
    const service = project.services[name]!;
    if (service.image === undefined) {
      say(service.build ? `${name}: skipped, no image to pull (built from build:)` : `${name}: skipped, no image`);
      continue;
    }
    const image = service.image;
    let ref: ReturnType<typeof parseImageReference>;
    try {
      ref = parseImageReference(image);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      handle(ctx, new UserError(e.code, `service ${name}: ${e.message}`, e.hint, { cause: e }), values['ignore-pull-failures'] || service.build !== undefined, quiet);
      continue;
    }
    if (done.has(ref.canonical)) continue;
    done.add(ref.canonical);
    const before = await store.getRecord(ref.canonical);
    if (policy === 'missing' && before && (await Promise.all(before.layers.map((l) => store.hasLayer(l)))).every(Boolean)) {
      say(`${name}: ${image} is in the store, not pulled (--policy missing)`);
      continue;
    }
    say(`Pulling ${name} (${image})…`);
    const started = Date.now();
    let downloaded = 0;
    try {
      const credentials = findCredentials(ref.registry, { env: ctx.env as NodeJS.ProcessEnv });
      const record = await pullImage(image, {
        store,
        ...(service.platform ? { platform: service.platform } : {}),
        ...(credentials ? { credentials } : {}),
        onProgress: (event) => {
          if (event.kind === 'layer' && event.state === 'done') downloaded++;
          if (event.kind === 'warning') say(`${name}: warning: ${event.message}`);
        },
      });
      if (downloaded === 0 && before?.digest === record.digest) say(`${name}: up to date`);
      else say(`${name}: pulled ${record.digest} in ${Date.now() - started}ms`);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      const named = new UserError(e.code, `service ${name}: ${e.message.includes(image) ? e.message : `${image}: ${e.message}`}`, e.hint, { cause: e });
      handle(ctx, named, values['ignore-pull-failures'] || service.build !== undefined, quiet);
    }
  }
  return 0;
}

/** A failed pull: thrown (exit 1), or a warning when failures are ignored or the service can be built. */
function handle(ctx: CommandContext, e: UserError, ignore: boolean, quiet: boolean): void {
  if (!ignore) throw e;
  if (!quiet) ctx.stderr.write(`warning: ${e.message}${e.hint ? ` (${e.hint})` : ''}\n`);
}
