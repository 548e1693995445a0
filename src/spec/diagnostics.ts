// One finding about a spec: where, which key, what was expected and found, and a hint.
// Errors of a file are collected and reported all at once.
import type { KeyPath, Location } from './location.js';
import { UserError } from '../errors.js';

export interface Diagnostic {
  readonly severity: 'error' | 'warning';
  /** Stable code, e.g. `UNKNOWN_KEY`, `BAD_TYPE`, `INTERPOLATION`, `CYCLE`, `UNSUPPORTED`. */
  readonly code: string;
  readonly location?: Location;
  readonly path?: KeyPath;
  readonly message: string;
  readonly expected?: string;
  readonly found?: string;
  readonly hint?: string;
}

/** `file:line:col` for humans (relative file when under cwd). */
export function formatLocation(loc: Location | undefined, cwd = process.cwd()): string {
  if (!loc) return '';
  const file = loc.file.startsWith(cwd + '/') ? loc.file.slice(cwd.length + 1) : loc.file;
  return `${file}:${loc.line}:${loc.col}`;
}

/** `services.web.ports[0]` */
export function formatPath(path: KeyPath | undefined): string {
  if (!path || path.length === 0) return '(top level)';
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

/** One diagnostic as the lines a user reads. */
export function formatDiagnostic(d: Diagnostic, cwd = process.cwd()): string {
  const where = formatLocation(d.location, cwd);
  const head = `${where ? where + ': ' : ''}${d.severity}: ${d.path ? formatPath(d.path) + ': ' : ''}${d.message}`;
  const lines = [head];
  if (d.expected !== undefined) lines.push(`  expected: ${d.expected}`);
  if (d.found !== undefined) lines.push(`  found:    ${d.found}`);
  if (d.hint) lines.push(`  hint:     ${d.hint}`);
  return lines.join('\n');
}

/** Thrown when a spec has errors; carries every one of them. */
export class SpecError extends UserError {
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    // An unset variable (an empty string in its place) is often what an error is about: said too.
    const unset = diagnostics.filter((d) => d.severity === 'warning' && d.code === 'UNSET_VARIABLE');
    super(
      'SPEC_INVALID',
      `${errors.length} error${errors.length === 1 ? '' : 's'} in the spec:\n` +
        errors.map((d) => formatDiagnostic(d)).join('\n') +
        (unset.length > 0 ? `\nand ${unset.length === 1 ? 'a variable' : `${unset.length} variables`} not set:\n${unset.map((d) => formatDiagnostic(d)).join('\n')}` : ''),
    );
  }
}

/** Diagnostics in reading order: by file (its path), line and column; those without a place last. */
export function sortDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  return [...list].sort((a, b) => {
    const x = a.location;
    const y = b.location;
    if (!x || !y) return x ? 1 : y ? -1 : 0;
    return x.file < y.file ? -1 : x.file > y.file ? 1 : x.line - y.line || x.col - y.col;
  });
}
