// Which changes under a watch rule's path count, with .dockerignore semantics (Docker's own
// matcher ported to JS: a bare `foo` matches at the root only, `**/` anywhere, `!` re-includes):
// editor temporaries and `.git` always, then the `.dockerignore` of the watched folder, then
// the rule's `ignore`; a rule with `include` counts only files that match one of those.
// A folder that is ignored, with no `!` pattern that could match below it, is never watched.
import { readFileSync } from 'node:fs';
import { compileIgnorePatterns, dockerignorePatterns, type IgnoreMatcher } from '../sys/dockerignore.js';
import { UserError } from '../errors.js';

/** What compose ignores without being told: VCS folders and editors' temporaries and backups. */
export const ALWAYS_IGNORED: readonly string[] = [
  '**/.git',
  // vim: the 4913 write probe, swap files, backups
  '**/4913',
  '**/.*.sw?',
  '**/*~',
  // emacs: lock files and auto-saves
  '**/.#*',
  '**/#*#',
  // JetBrains safe-write temporaries (app.js___jb_tmp___, app.js___jb_old___)
  '**/*___jb_tmp___',
  '**/*___jb_old___',
];

/** A rule's filter; paths are relative to the rule's path, with `/` separators. */
export interface WatchFilter {
  /** The change at `rel` does not count. */
  ignores(rel: string, isDir: boolean): boolean;
  /** Nothing under the folder `rel` can count: it is not watched at all. */
  prunes(rel: string): boolean;
  /** Where its patterns came from, for messages. */
  readonly sources: readonly string[];
}

function matcher(patterns: readonly string[], where: string, context: string): IgnoreMatcher {
  return compileIgnorePatterns(patterns, (pattern, why) => {
    throw new UserError(
      'WATCH_BAD_PATTERN',
      `${context}: the pattern ${JSON.stringify(pattern)} in ${where} does not parse (${why})`,
      'patterns follow .dockerignore syntax: *, ?, [a-z], ** and a leading ! to re-include',
    );
  });
}

export { dockerignorePatterns };

/** The patterns of `<dir>/.dockerignore`, or none when it does not exist. */
export function readDockerignore(dir: string): string[] {
  try {
    return dockerignorePatterns(readFileSync(`${dir}/.dockerignore`, 'utf8'));
  } catch {
    return [];
  }
}

/** The filter of one rule; `context` names service and rule in errors (`service "web", watch rule 1`). */
export function watchFilter(
  rule: { readonly ignore: readonly string[]; readonly include: readonly string[] },
  dockerignoreLines: readonly string[],
  context: string,
): WatchFilter {
  const ignored = [...ALWAYS_IGNORED, ...dockerignoreLines, ...rule.ignore];
  const ignore = matcher(ignored, 'ignore (with .dockerignore)', context);
  const include = rule.include.length > 0 ? matcher(rule.include, 'include', context) : undefined;
  // A `!` pattern may make something inside an ignored folder count again: such a folder is
  // still watched, but only when the pattern could match below it (as Docker's walker decides).
  const reincludes = ignored.filter((p) => p.startsWith('!')).map((p) => p.slice(1).replace(/^\/+/, ''));
  const mayReinclude = (dir: string): boolean =>
    reincludes.some((p) => {
      const literal = /^[^*?[\\]*/.exec(p)![0]; // the part before the first wildcard
      return literal.startsWith(`${dir}/`) || `${dir}/`.startsWith(literal);
    });
  const sources = ['editor temporaries and .git', ...(dockerignoreLines.length > 0 ? ['.dockerignore'] : []), ...(rule.ignore.length > 0 ? ['ignore'] : [])];
  return {
    sources,
    ignores(rel, isDir) {
      if (rel === '' || rel === '.') return false;
      if (ignore.ignores(rel)) return true;
      return include !== undefined && !isDir && !include.ignores(rel);
    },
    prunes(rel) {
      if (rel === '' || rel === '.') return false;
      return ignore.ignores(rel) && !mayReinclude(rel);
    },
  };
}
