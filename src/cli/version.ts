// The package version, for `stack version` and the CLI's own use (bin/stack.cjs answers
// `--version` itself, before any module of the CLI loads).
import { readFileSync } from 'node:fs';

/** The package version, read from package.json next to dist/. */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
