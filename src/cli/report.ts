// Turns any error into what a human reads on stderr and an exit code: a mistake of the user's
// is a message and a hint (exit 1), and so is a refusal of the host's (a full disk: host-refusal.ts);
// anything else is a bug, shown with its stack (exit 2).
import { UserError } from '../errors.js';
import { hostRefusal } from './host-refusal.js';

/** Writes `e` for a human and returns the exit code. */
export function reportError(e: unknown, stderr: NodeJS.WritableStream, _cwd: string): number {
  const user = e instanceof UserError ? e : hostRefusal(e);
  if (user !== undefined) {
    stderr.write(`stack: ${user.message}\n`);
    if (user.hint) stderr.write(`hint: ${user.hint}\n`);
    return 1;
  }
  const detail = e instanceof Error ? (e.stack ?? e.message) : String(e);
  stderr.write(`stack: internal error (this is a bug in stack, please report it):\n${detail}\n`);
  return 2;
}
