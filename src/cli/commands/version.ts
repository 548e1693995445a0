// `stack version`, as compose's: the version, or (--format json) {"version": ...}; --short is the
// number alone, which stack prints anyway.
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { UserError } from '../../errors.js';
import { version } from '../version.js';

const HELP = `Usage: stack version [OPTIONS]

Print the version.

Options:
  -f, --format FORMAT   pretty (default) or json
      --short           The number only (what pretty prints too)
  -h, --help            Print this help
`;

/** Runs `stack version`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values } = parseCommandOptions('version', ctx.args, {
    format: { type: 'string', short: 'f', default: 'pretty' },
    short: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) {
    ctx.stdout.write(HELP);
    return 0;
  }
  if (values.format !== 'pretty' && values.format !== 'json') {
    throw new UserError('CLI_BAD_ARGUMENTS', `stack version: unknown format "${values.format}"`, 'use --format pretty or --format json');
  }
  ctx.stdout.write(values.format === 'json' && !values.short ? `${JSON.stringify({ version: version() })}\n` : `${version()}\n`);
  return 0;
}
