// Waiting for a command attached to the user's terminal (`stack exec`, `stack run`): ^C reaches
// the command, never stack (on a pty it is a byte for the pty, stack's terminal being raw; with
// -T the terminal signals the helper too, which passes it on); SIGTERM and SIGHUP sent to stack
// alone are passed on the same way. Resolves with the command's exit code.
import type { AttachedExec } from '../../runtime/index.js';

/** The exit code of `running`, with stack's own signals passed on meanwhile. */
export async function waitAttached(running: AttachedExec): Promise<number> {
  const ignore = (): void => undefined;
  const forward = (signal: NodeJS.Signals): void => running.kill(signal);
  process.on('SIGINT', ignore);
  process.on('SIGTERM', forward);
  process.on('SIGHUP', forward);
  try {
    return (await running.done).exitCode;
  } finally {
    process.off('SIGINT', ignore);
    process.off('SIGTERM', forward);
    process.off('SIGHUP', forward);
  }
}
