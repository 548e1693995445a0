// `stack image COMMAND`: the image commands grouped as `docker image` groups them:
// `ls` (= stack images), `rm` (= stack rmi), `prune`.
import type { CommandContext } from '../context.js';
import { UserError } from '../../errors.js';
import { closest } from '../suggest.js';

const SUBCOMMANDS: Record<string, { summary: string; run: (ctx: CommandContext) => Promise<number> }> = {
  ls: { summary: 'List the images in the store (as `stack images`)', run: async (ctx) => (await import('./images.js')).run(ctx) },
  rm: { summary: 'Remove images (as `stack rmi`)', run: async (ctx) => (await import('./rmi.js')).run(ctx, 'image rm') },
  prune: { summary: 'Remove unused layers and blobs (-a: and unused images)', run: async (ctx) => (await import('./image-prune.js')).run(ctx) },
};

const HELP = `Usage: stack image COMMAND

Manage the image store.

Commands:
${Object.entries(SUBCOMMANDS).map(([name, c]) => `  ${name.padEnd(5)}  ${c.summary}`).join('\n')}
`;

/** Runs `stack image`. */
export async function run(ctx: CommandContext): Promise<number> {
  const [sub, ...rest] = ctx.args;
  if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') {
    ctx.stdout.write(HELP);
    return sub === undefined ? 1 : 0;
  }
  const command = SUBCOMMANDS[sub === 'list' ? 'ls' : sub === 'remove' ? 'rm' : sub];
  if (!command) {
    const near = closest(sub, Object.keys(SUBCOMMANDS));
    throw new UserError('CLI_UNKNOWN_COMMAND', `unknown command "image ${sub}"`, near ? `did you mean \`stack image ${near}\`?` : 'see `stack image --help`');
  }
  return command.run({ ...ctx, args: rest });
}
