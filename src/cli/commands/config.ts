// `stack config`: validate the spec and print the normalized project, like `docker compose config`.
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { loadFromContext } from '../project.js';
import { renderConfig } from '../../spec/index.js';
import { UserError } from '../../errors.js';
import { configHashes, configImages } from './config-hash.js';

/** Runs `stack config [--format yaml|json] [--services] [--images] [--hash SERVICES] [-q]`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values } = parseCommandOptions('config', ctx.args, {
    format: { type: 'string', default: 'yaml' },
    services: { type: 'boolean', default: false },
    images: { type: 'boolean', default: false },
    hash: { type: 'string' },
    quiet: { type: 'boolean', short: 'q', default: false },
  });
  if (values.format !== 'yaml' && values.format !== 'json') {
    throw new UserError('CLI_BAD_ARGUMENTS', `unknown format "${values.format}"`, 'use --format yaml or --format json');
  }
  const project = await loadFromContext(ctx, values.quiet);
  if (values.quiet) return 0;
  if (values.hash !== undefined) {
    ctx.stdout.write(await configHashes(project, values.hash, ctx.env as NodeJS.ProcessEnv));
    return 0;
  }
  if (values.images) {
    ctx.stdout.write(configImages(project));
    return 0;
  }
  if (values.services) {
    ctx.stdout.write(Object.keys(project.services).map((s) => s + '\n').join(''));
    return 0;
  }
  ctx.stdout.write(renderConfig(project, values.format));
  return 0;
}
