// Commands that run a command of their own (`stack exec web ls -la`) stop parsing options at
// their first positional, as docker's CLI does: everything after it belongs to that command.
// node's parseArgs cannot stop there, so the split is made here and parseArgs only sees the
// options part.
import type { ParseArgsConfig } from 'node:util';

/** The options before the first positional, that positional, and everything after it. */
export interface SplitArgs {
  readonly options: string[];
  readonly positional: string | undefined;
  readonly rest: string[];
}

/**
 * Splits `args` at the first token that is neither an option nor an option's value, judged by
 * `options` (parseArgs' own table: which take a value, and their short letters). `--` ends the
 * options too. An unknown option is kept in the options part, for parseArgs to report.
 */
export function splitAtPositional(args: readonly string[], options: NonNullable<ParseArgsConfig['options']>): SplitArgs {
  const longWithValue = new Set(Object.entries(options).filter(([, o]) => o.type === 'string').map(([name]) => `--${name}`));
  const shortWithValue = new Set(Object.values(options).filter((o) => o.type === 'string' && o.short).map((o) => o.short!));
  let i = 0;
  for (; i < args.length; i++) {
    const token = args[i]!;
    if (token === '--') {
      return { options: args.slice(0, i), positional: args[i + 1], rest: args.slice(i + 2) };
    }
    if (!token.startsWith('-') || token === '-') break;
    if (token.startsWith('--')) {
      if (!token.includes('=') && longWithValue.has(token)) i++;
      continue;
    }
    // A cluster of short options (`-Tu` `root`, `-uroot`): the first that takes a value takes
    // the rest of the cluster, or the next token when the cluster ends with it.
    for (let c = 1; c < token.length; c++) {
      if (shortWithValue.has(token[c]!)) {
        if (c === token.length - 1) i++;
        break;
      }
    }
  }
  return { options: args.slice(0, Math.min(i, args.length)), positional: args[i], rest: args.slice(i + 1) };
}
