// `stack rmi IMAGE...` (also `stack image rm`): removes images from the store as `docker rmi`
// does: by name as `stack images` shows it (`postgres:16`) or by image ID (or a unique prefix of
// at least 4 hex digits); then the layers and blobs nothing else names. An image a project's
// service runs on is refused unless -f, and even then the layers it runs on are kept.
import type { CommandContext } from '../context.js';
import { parseCommandOptions } from '../args.js';
import { UserError } from '../../errors.js';
import { stateRoots } from '../../state/paths.js';
import { removeImage, type RemovalReport } from '../../image/remove.js';
import { ImageStore } from '../../image/store.js';
import { describeUsers } from '../../image/usage.js';

const HELP = `Usage: stack rmi [OPTIONS] IMAGE [IMAGE...]

Remove one or more images from the image store (by name, e.g. postgres:16, or by image ID),
then their layers that no other image uses.

Options:
  -f, --force   Remove the image even if a project's service uses it (its layers are kept)
  -h, --help    Print this help
`;

/** Prints what a removal did, as docker does (`Untagged:` / `Deleted:`; lowercase for prune). */
export function printRemoval(ctx: CommandContext, report: RemovalReport, lower = false): void {
  const [untagged, deleted] = lower ? ['untagged', 'deleted'] : ['Untagged', 'Deleted'];
  for (const name of report.untagged) ctx.stdout.write(`${untagged}: ${name}\n`);
  for (const digest of report.deleted) ctx.stdout.write(`${deleted}: ${digest}\n`);
  for (const { layer, users } of report.keptInUse) ctx.stderr.write(`kept layer ${layer}: used by ${describeUsers(users)}\n`);
  for (const digest of report.keptBusy) ctx.stderr.write(`kept ${digest}: a pull running now uses it\n`);
}

/** Runs `stack rmi`. */
export async function run(ctx: CommandContext, command = 'rmi'): Promise<number> {
  const { values, positionals } = parseCommandOptions(command, ctx.args, {
    force: { type: 'boolean', short: 'f', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  }, true);
  if (values.help) {
    ctx.stdout.write(command === 'rmi' ? HELP : HELP.replace('stack rmi', `stack ${command}`));
    return 0;
  }
  if (positionals.length === 0) {
    throw new UserError('CLI_BAD_ARGUMENTS', `stack ${command} needs at least one image`, `e.g. stack ${command} postgres:16 (see \`stack images\`)`);
  }
  const roots = stateRoots(ctx.env as NodeJS.ProcessEnv);
  const store = ImageStore.forRoots(roots);
  let failed: UserError | undefined;
  for (const image of positionals) {
    try {
      printRemoval(ctx, await removeImage(store, roots, image, { force: values.force }));
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      // As docker: report it and go on with the other images; the exit code says one failed.
      if (failed) ctx.stderr.write(`stack: ${failed.message}\n${failed.hint ? `hint: ${failed.hint}\n` : ''}`);
      failed = e;
    }
  }
  if (failed) throw failed;
  return 0;
}
