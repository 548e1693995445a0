// `stack scale SERVICE=N...`, as compose's: runs N replicas of each named service from now on
// (more are made and started, the ones beyond N removed), with what they depend on unless
// --no-deps. It is `stack up -d --scale SERVICE=N SERVICE...`, as compose's scale is its up.
import { UserError } from '../../errors.js';
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';

const HELP = `Usage: stack scale [OPTIONS] SERVICE=N [SERVICE=N...]

Run N replicas of each SERVICE (\`stack up -d --scale SERVICE=N SERVICE\`): more are made and
started, those beyond N stopped and removed. The services they depend on come too.

Options:
      --no-deps         Don't start the services the named ones depend on
      --no-lock-wait    Fail at once when another stack command holds the project's lock
      --progress MODE   auto (default), tty, plain, json or quiet
  -h, --help            Print this help
`;

/** Runs `stack scale`. */
export async function run(ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandOptions(
    'scale',
    ctx.args,
    {
      'no-deps': { type: 'boolean', default: false },
      'no-lock-wait': { type: 'boolean', default: false },
      progress: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    true,
  );
  if (values.help) {
    ctx.stdout.write(HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UserError('CLI_BAD_ARGUMENTS', 'stack scale: no SERVICE=N given', 'e.g. `stack scale worker=3`');
  const services: string[] = [];
  for (const arg of positionals) {
    const m = /^([^=]+)=(\d+)$/.exec(arg);
    if (m === null) throw new UserError('CLI_BAD_ARGUMENTS', `stack scale: ${JSON.stringify(arg)} is not SERVICE=N`, 'e.g. `stack scale worker=3`');
    services.push(m[1]!);
  }
  const args = [
    '-d',
    ...positionals.flatMap((s) => ['--scale', s]),
    ...(values['no-deps'] ? ['--no-deps'] : []),
    ...(values['no-lock-wait'] ? ['--no-lock-wait'] : []),
    ...(values.progress !== undefined ? ['--progress', values.progress] : []),
    '--',
    ...services,
  ];
  const up = await import('./up.js');
  return up.run({ ...ctx, args }, 'scale');
}
