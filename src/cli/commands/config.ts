// `stack config`: validate the spec and print the normalized project, like `docker compose config`.
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { loadFromContext } from '../project.js';
import { renderConfig } from '../../spec/index.js';
import { UserError } from '../../errors.js';

/** Runs `stack config [--format yaml|json] [--services] [-q]`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values } = parseCommandOptions('config', ctx.args, {
    format: { type: 'string', default: 'yaml' },
    services: { type: 'boolean', default: false },
    quiet: { type: 'boolean', short: 'q', default: false },
  });
  if (values.format !== 'yaml' && values.format !== 'json') {
    throw new UserError('CLI_BAD_ARGUMENTS', `unknown format "${values.format}"`, 'use --format yaml or --format json');
  }
  const project = await loadFromContext(ctx, values.quiet);
  if (values.quiet) return 0;
  if (values.services) {
    ctx.stdout.write(Object.keys(project.services).map((s) => s + '\n').join(''));
    return 0;
  }
  ctx.stdout.write(renderConfig(project, values.format));
  return 0;
}
