// `post_start` and `pre_stop` (compose's lifecycle hooks): commands run inside the service, right
// after it started and right before it is stopped, each with its own command, user, privileged,
// working_dir and environment (the shape of a develop.watch rule's `exec`).
import { isAbsolute } from 'node:path';
import type { WatchExec } from './project.js';
import type { KeyPath } from './raw.js';
import type { Report } from './report.js';
import { listOrDict } from './environment.js';
import { splitWords } from './shellwords.js';
import { asBoolean } from './units.js';

/** One hook as the schema accepts it. */
interface HookSpec {
  readonly command?: string | readonly string[] | null;
  readonly user?: string | number;
  readonly privileged?: boolean | string;
  readonly working_dir?: string;
  readonly environment?: Record<string, string | number | boolean | null> | readonly string[];
}

/** Reads the hooks of `key`; problems go to `report`; absent or empty gives undefined. */
export function serviceHooks(
  key: 'post_start' | 'pre_stop',
  spec: readonly HookSpec[] | undefined,
  at: (...rest: (string | number)[]) => KeyPath,
  report: Report,
  env: Readonly<Record<string, string | undefined>>,
): WatchExec[] | undefined {
  if (spec === undefined || spec.length === 0) return undefined;
  const out: WatchExec[] = [];
  spec.forEach((h, i) => {
    let words: string[] = [];
    if (typeof h.command === 'string') {
      const split = splitWords(h.command);
      if (!split.ok) {
        report.error(at(key, i, 'command'), 'BAD_COMMAND', `cannot split \`command\` into words: ${split.reason}`, { hint: 'close the quote, or write the command as a list: ["prog", "arg"]' });
        return;
      }
      words = split.words;
    } else if (Array.isArray(h.command)) words = [...(h.command as string[])];
    if (words.length === 0) {
      report.error(at(key, i), 'MISSING_KEY', `a \`${key}\` hook needs a command`, { expected: 'command: a string or a list of strings', hint: `e.g. ${key}: [{command: ["sh", "-c", "echo hi"]}]` });
      return;
    }
    if (h.working_dir !== undefined && !isAbsolute(h.working_dir)) {
      report.error(at(key, i, 'working_dir'), 'BAD_PATH', `\`${h.working_dir}\` is not an absolute path`, { expected: 'an absolute path inside the service, e.g. /app' });
      return;
    }
    out.push({
      command: words,
      ...(h.user !== undefined && { user: String(h.user) }),
      privileged: asBoolean(h.privileged, false),
      ...(h.working_dir !== undefined && { workingDir: h.working_dir }),
      environment: listOrDict(h.environment, (k) => env[k]),
    });
  });
  return out.length > 0 ? out : undefined;
}
