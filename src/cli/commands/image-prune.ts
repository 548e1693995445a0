// `stack image prune [-a] [-f]`: as `docker image prune`: removes what no image record names
// (layers and blobs left when a tag moved, leftovers of crashed pulls); with -a also every image
// no project uses. Asks "Are you sure you want to continue? [y/N]" on stdin unless -f (a closed
// stdin is no).
import { createInterface } from 'node:readline';
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { stateRoots } from '../../state/paths.js';
import { humanSize } from '../../image/disk-usage.js';
import { pruneImages } from '../../image/remove.js';
import { ImageStore } from '../../image/store.js';
import { printRemoval } from './rmi.js';

const HELP = `Usage: stack image prune [OPTIONS]

Remove the layers and blobs no image uses (left by moved tags, interrupted pulls and builds),
and the build cache's entries whose layers are gone.

Options:
  -a, --all     Also remove every image no project's service uses, and the folders of
                RUN --mount=type=cache (package managers' downloads)
  -f, --force   Do not prompt for confirmation
  -h, --help    Print this help
`;

/** One line from stdin (undefined when it closes first). */
function readAnswer(input: NodeJS.ReadableStream): Promise<string | undefined> {
  return new Promise((resolve) => {
    const rl = createInterface({ input, terminal: false });
    let done = false;
    rl.once('line', (line) => {
      done = true;
      rl.close();
      resolve(line);
    });
    rl.once('close', () => {
      if (!done) resolve(undefined);
    });
  });
}

/** Runs `stack image prune`; `stdin` is where the confirmation is read. */
export async function run(ctx: CommandContext, stdin: NodeJS.ReadableStream = process.stdin): Promise<number> {
  const { values } = parseCommandOptions('image prune', ctx.args, {
    all: { type: 'boolean', short: 'a', default: false },
    force: { type: 'boolean', short: 'f', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) {
    ctx.stdout.write(HELP);
    return 0;
  }
  if (!values.force) {
    ctx.stdout.write(values.all
      ? 'WARNING! This will remove all images not used by a project\'s service.\n'
      : 'WARNING! This will remove all dangling layers and blobs.\n');
    ctx.stdout.write('Are you sure you want to continue? [y/N] ');
    const answer = (await readAnswer(stdin))?.trim().toLowerCase();
    // A terminal echoed the answer and its newline; anything else did not: end the prompt's line.
    if (answer === undefined || !(stdin as { isTTY?: boolean }).isTTY) ctx.stdout.write('\n');
    if (answer !== 'y' && answer !== 'yes') return 0;
  }
  const roots = stateRoots(ctx.env as NodeJS.ProcessEnv);
  const report = await pruneImages(ImageStore.forRoots(roots), roots, { all: values.all });
  if (report.untagged.length || report.deleted.length) {
    ctx.stdout.write('Deleted Images:\n');
    printRemoval(ctx, report, true);
    ctx.stdout.write('\n');
  } else printRemoval(ctx, report, true);
  ctx.stdout.write(`Total reclaimed space: ${humanSize(report.reclaimed)}\n`);
  return 0;
}
