// The findings of structure validation that need no zod: an empty spec, service names that
// name folders, unknown keys; and where a finding is and what was found there. Shared by the
// fast path (structure.ts), validation against the zod schema (validate.ts) and normalization's
// report (report.ts).
import type { Diagnostic } from './diagnostics.js';
import { COSMETIC_REASONS, describeLevel, KEYS, keyStatus, levelAt, UNSUPPORTED_REASONS } from './keys.js';
import type { KeyPath, Location, RawSpec } from './raw.js';
import { suggest } from './suggest.js';
import { isCgroupFileName } from '../cgroup-files.js';

/** The finding about a spec with no key at all; undefined when it has one. */
export function emptySpec(raw: RawSpec): Diagnostic | undefined {
  if (Object.keys(raw.doc).length > 0) return undefined;
  return {
    severity: 'error',
    code: 'EMPTY_SPEC',
    location: locate(raw, []),
    message: 'the spec is empty',
    expected: 'a mapping with at least `services:`',
    found: 'an empty document',
    hint: 'add a `services:` mapping with one service',
  };
}

/**
 * Names the schema's pattern allows that stack cannot use: services named `.` or `..` (they name
 * folders; compose refuses them), or like a file the kernel keeps in every cgroup folder
 * (`memory.max`, `tasks`: each service gets a cgroup folder of that name beside those files);
 * and `__proto__` as the name of anything, which zod's records skip unchecked (a service so
 * named reached normalization unvalidated, and its `ports: 7` ended in a TypeError).
 */
export function nameFindings(raw: RawSpec): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const kind of ['services', 'networks', 'volumes', 'secrets', 'configs']) {
    const names = raw.doc[kind];
    if (typeof names !== 'object' || names === null || Array.isArray(names)) continue;
    const service = kind === 'services';
    for (const key of Object.keys(names)) {
      if (key === '__proto__' || (service && (key === '.' || key === '..'))) out.push(badName([kind, key], raw));
      else if (service && isCgroupFileName(key)) out.push(cgroupFileName([kind, key], key, raw));
    }
  }
  return out;
}

/** A key that is not a valid name, at the key's place. */
export function badName(path: KeyPath, raw: RawSpec): Diagnostic {
  const key = String(path[path.length - 1]);
  const dots = key === '.' || key === '..';
  const proto = key === '__proto__';
  const hint = dots ? `\`${key}\` names a folder: rename it, e.g. \`app\`` : proto ? 'rename it, e.g. `proto`' : `rename it, e.g. \`${key.replace(/[^a-zA-Z0-9._-]+/g, '-')}\``;
  return {
    severity: 'error',
    code: 'BAD_NAME',
    location: locateKey(raw, path),
    path,
    message: `\`${key}\` is not a valid name`,
    expected: `a name of letters, digits, ".", "_" and "-"${dots ? ', other than "." and ".."' : proto ? ', other than "__proto__"' : ''}`,
    found: JSON.stringify(key),
    hint,
  };
}

/** A service named like a cgroup interface file, at the key's place. */
function cgroupFileName(path: KeyPath, key: string, raw: RawSpec): Diagnostic {
  return {
    severity: 'error',
    code: 'BAD_NAME',
    location: locateKey(raw, path),
    path,
    message: `\`${key}\` cannot name a service: it is the name of a file the kernel keeps in every cgroup folder, where stack makes one folder per service`,
    expected: 'a name other than `tasks`, `notify_on_release`, `release_agent` or `<controller>.<anything>` (`cgroup.`, `memory.`, `cpu.`, `pids.`, `io.`, ...)',
    found: JSON.stringify(key),
    hint: `rename it, e.g. \`${key.includes('.') ? key.replace(/\./g, '-') : `${key}-service`}\``,
  };
}

/** Where `path` was written; the first file's start when the loader cannot place it. */
export function locate(raw: RawSpec, path: KeyPath): Location | undefined {
  return raw.locate(path) ?? (raw.files[0] ? { file: raw.files[0], line: 1, col: 1 } : undefined);
}

/** Where the key at the end of `path` was written, when the loader tells keys from values. */
function locateKey(raw: RawSpec, path: KeyPath): Location | undefined {
  const byKey = (raw as { locateKey?: (p: KeyPath) => Location | undefined }).locateKey;
  return (typeof byKey === 'function' ? byKey.call(raw, path) : undefined) ?? locate(raw, path);
}

/** The value at `path` in `doc` (undefined when absent). */
export function valueAt(doc: unknown, path: KeyPath): unknown {
  let v = doc;
  for (const step of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[step];
  }
  return v;
}

/** A value as a user reads it in `found:` lines. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null (an empty value)';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const text = JSON.stringify(v);
  const short = text.length > 60 ? text.slice(0, 57) + '...' : text;
  return `${Array.isArray(v) ? 'a list' : 'a mapping'} ${short}`;
}

/** An unknown key: a cosmetic one warns, an unsupported one is named, anything else gets a suggestion. */
export function keyDiagnostic(parent: KeyPath, key: string, raw: RawSpec): Diagnostic {
  const path = [...parent, key];
  const level = levelAt(parent);
  const location = locateKey(raw, path);
  const status = level ? keyStatus(level, key) : undefined;
  const where = level ? describeLevel(level) : 'this mapping';
  if (status === 'cosmetic') {
    const reason = COSMETIC_REASONS[key];
    return { severity: 'warning', code: 'IGNORED_KEY', location, path, message: `\`${key}\` has no effect in stack and is ignored`, ...(reason ? { hint: reason } : {}) };
  }
  if (status === 'unsupported') {
    return {
      severity: 'error',
      code: 'UNSUPPORTED',
      location,
      path,
      message: `\`${key}\` is a compose key that stack does not support yet`,
      expected: `a key stack supports in ${where}`,
      found: `\`${key}\``,
      hint: UNSUPPORTED_REASONS[key] ?? `remove \`${key}\` (or move it under an \`x-\` key) to run this spec with stack`,
    };
  }
  const near = level ? suggest(key, Object.keys(KEYS[level])) : undefined;
  return {
    severity: 'error',
    code: 'UNKNOWN_KEY',
    location,
    path,
    message: `unknown key \`${key}\``,
    expected: `a key of ${where}`,
    found: `\`${key}\``,
    hint: near ? `did you mean \`${near}\`?` : 'extension keys must start with `x-`',
  };
}
