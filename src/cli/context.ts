// What every command gets from main.ts: the global options, its own arguments, where it runs
// and where it writes. A file of its own so commands never import main.ts, which imports them.
import type { GlobalOptions } from './args.js';

/** A command's inputs and outputs. */
export interface CommandContext {
  global: GlobalOptions;
  args: string[];
  cwd: string;
  env: Record<string, string | undefined>;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}
