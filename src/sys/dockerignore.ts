// .dockerignore patterns, read and compiled as Docker reads them, for the build context
// (src/build/context.ts) and for watch rules (src/watch/filter.ts): one reading of the file,
// one matcher (@balena/dockerignore, case-sensitive, `!` re-includes).
import { createRequire } from 'node:module';

/** The part of @balena/dockerignore's API used. */
export interface IgnoreMatcher {
  add(pattern: string): IgnoreMatcher;
  ignores(path: string): boolean;
}

// A CommonJS module whose typings declare an ES default export: loaded as what it is.
const dockerignore = createRequire(import.meta.url)('@balena/dockerignore') as (options?: { ignorecase?: boolean }) => IgnoreMatcher;

/** The patterns of a .dockerignore text, as moby's reader takes them: a BOM dropped, `#` lines (from their first character) skipped, the rest trimmed, blanks skipped. */
export function dockerignorePatterns(text: string): string[] {
  return text
    .replace(/^\ufeff/, '')
    .split(/\r?\n/)
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

/** `patterns` compiled with Docker's case-sensitive matcher; one that does not parse is handed to `bad` with the reason, which throws. */
export function compileIgnorePatterns(patterns: readonly string[], bad: (pattern: string, why: string) => never): IgnoreMatcher {
  const m = dockerignore({ ignorecase: false });
  for (const pattern of patterns) {
    try {
      m.add(pattern);
      m.ignores('probe'); // compiles the pattern
    } catch (e) {
      bad(pattern, e instanceof Error ? e.message : String(e));
    }
  }
  return m;
}
