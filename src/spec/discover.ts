// Finds the spec files as compose does: the -f files, else the first known file name in the
// current folder or the nearest parent, plus its `.override` sibling.
import { pathExists, pathStat } from './fs.js';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { UserError } from '../errors.js';

/** File names searched for, first match wins. */
export const SPEC_FILE_NAMES = [
  'stack.yaml',
  'stack.yml',
  'compose.yaml',
  'compose.yml',
  'docker-compose.yaml',
  'docker-compose.yml',
] as const;

/** How `-f -` (the spec on standard input) appears in files and locations. */
export const STDIN = '<stdin>';

/** The files to load in merge order (absolute), and a note when a folder held several candidates. */
export interface Discovered {
  readonly files: readonly string[];
  readonly note?: string;
}

function isFile(p: string): boolean {
  try {
    return pathStat(p).isFile();
  } catch {
    return false;
  }
}

/** Resolves -f files against `cwd` (`-` is standard input), or searches `cwd` and its parents. Throws SPEC_NOT_FOUND. */
export function discoverSpecFiles(cwd: string, files?: readonly string[]): Discovered {
  if (files && files.length > 0) {
    const abs = files.map((f) => (f === '-' ? STDIN : resolve(cwd, f)));
    const missing = abs.filter((f) => f !== STDIN && !isFile(f));
    if (missing.length > 0)
      throw new UserError(
        'SPEC_NOT_FOUND',
        `spec file not found: ${missing.join(', ')}`,
        pathExists(missing[0]!) ? 'pass a file, not a folder, to -f' : 'check the path given to -f',
      );
    return { files: abs };
  }
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const found = SPEC_FILE_NAMES.filter((n) => isFile(join(dir, n)));
    if (found.length > 0) {
      const main = join(dir, found[0]!);
      const override = overrideSibling(main);
      const note =
        found.length > 1 ? `found ${found.join(', ')} in ${dir}; using ${found[0]}` : undefined;
      return { files: override ? [main, override] : [main], ...(note ? { note } : {}) };
    }
    if (dirname(dir) === dir) break;
  }
  throw new UserError(
    'SPEC_NOT_FOUND',
    `no spec file in ${cwd} or any parent folder (looked for ${SPEC_FILE_NAMES.join(', ')})`,
    'create stack.yaml here, or pass -f FILE before the command',
  );
}

/** `compose.override.yaml` for `compose.yaml` (either extension), when it exists. */
export function overrideSibling(file: string): string | undefined {
  const ext = extname(file);
  const stem = join(dirname(file), basename(file, ext));
  const other = ext === '.yaml' ? '.yml' : '.yaml';
  return [stem + '.override' + ext, stem + '.override' + other].find(isFile);
}
