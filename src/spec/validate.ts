// Structure validation: the merged document against the zod schema, every issue turned into
// a Diagnostic of ours (where, which key, expected, found, hint), all of them at once.
import type { z } from 'zod';
import type { Diagnostic } from './diagnostics.js';
import { describeLevel, EXPECTED_MARK, specSchema } from './schema.js';
import { COSMETIC_REASONS, isExtensionKey, KEYS, keyStatus, levelAt, UNSUPPORTED_REASONS } from './keys.js';
import type { KeyPath, Location, RawSpec } from './raw.js';
import { suggest } from './suggest.js';
import { isCgroupFileName } from '../cgroup-files.js';

type Issue = z.core.$ZodIssue;

/** Every structural finding about `raw.doc`: errors and warnings, in document order. */
export function validate(raw: RawSpec): Diagnostic[] {
  if (Object.keys(raw.doc).length === 0) {
    return [
      {
        severity: 'error',
        code: 'EMPTY_SPEC',
        location: locate(raw, []),
        message: 'the spec is empty',
        expected: 'a mapping with at least `services:`',
        found: 'an empty document',
        hint: 'add a `services:` mapping with one service',
      },
    ];
  }
  const result = specSchema.safeParse(raw.doc);
  const out: Diagnostic[] = folderServiceNames(raw);
  if (result.success) return out;
  for (const issue of result.error.issues) out.push(...toDiagnostics(issue, [], raw));
  return out;
}

/**
 * Services named `.` or `..` (the schema's pattern allows them, but they name folders; compose
 * refuses them), or like a file the kernel keeps in every cgroup folder (`memory.max`, `tasks`):
 * each service gets a cgroup folder of that name beside those files.
 */
function folderServiceNames(raw: RawSpec): Diagnostic[] {
  const services = raw.doc.services;
  if (typeof services !== 'object' || services === null || Array.isArray(services)) return [];
  return Object.keys(services)
    .filter((key) => key === '.' || key === '..' || isCgroupFileName(key))
    .map((key) => (isCgroupFileName(key) ? cgroupFileName(['services', key], key, raw) : badName(['services', key], raw)));
}

/** A key that is not a valid name, at the key's place. */
function badName(path: KeyPath, raw: RawSpec): Diagnostic {
  const key = String(path[path.length - 1]);
  const dots = key === '.' || key === '..';
  const hint = dots ? `\`${key}\` names a folder: rename it, e.g. \`app\`` : `rename it, e.g. \`${key.replace(/[^a-zA-Z0-9._-]+/g, '-')}\``;
  return {
    severity: 'error',
    code: 'BAD_NAME',
    location: locateKey(raw, path),
    path,
    message: `\`${key}\` is not a valid name`,
    expected: `a name of letters, digits, ".", "_" and "-"${dots ? ', other than "." and ".."' : ''}`,
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
export function locateKey(raw: RawSpec, path: KeyPath): Location | undefined {
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

function toDiagnostics(issue: Issue, base: KeyPath, raw: RawSpec): Diagnostic[] {
  const path: KeyPath = [...base, ...(issue.path as (string | number)[])];
  const found = valueAt(raw.doc, path);
  const subject = `\`${subjectOf(path)}\``;
  const marked = issue.message.startsWith(EXPECTED_MARK) ? issue.message.slice(EXPECTED_MARK.length) : undefined;
  const error = (code: string, message: string, expected: string | undefined, hint?: string): Diagnostic => ({
    severity: 'error',
    code,
    location: locate(raw, path),
    path,
    message,
    ...(expected !== undefined ? { expected } : {}),
    found: describeValue(found),
    ...(hint ? { hint } : {}),
  });

  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.filter((k) => !isExtensionKey(k)).map((k) => keyDiagnostic(path, k, raw));
    case 'invalid_union': {
      // Descend into the one branch that accepts the value's kind, so the error names the
      // innermost mistake (e.g. a bad key inside the long syntax of a port).
      const branches = issue.errors.filter((errs) => !errs.some((e) => e.path.length === 0 && e.code === 'invalid_type'));
      const only = branches.length === 1 ? branches[0]! : undefined;
      if (only && only.some((e) => e.path.length > 0 || e.code === 'unrecognized_keys')) {
        return only.flatMap((e) => toDiagnostics(e, path, raw));
      }
      if (only && !marked) return only.flatMap((e) => toDiagnostics(e, path, raw));
      return [error('BAD_TYPE', `${subject} has the wrong kind of value`, marked ?? unionExpected(issue), typeHint(found, marked ?? unionExpected(issue)))];
    }
    case 'invalid_type':
      if (found === undefined) {
        const key = String(path[path.length - 1]);
        return [error('MISSING_KEY', `required key \`${key}\` is missing`, marked ?? article(issue.expected), `add \`${key}:\` here`)];
      }
      return [error('BAD_TYPE', `${subject} has the wrong kind of value`, marked ?? article(issue.expected), typeHint(found, marked ?? article(issue.expected)))];
    case 'invalid_value': {
      const values = issue.values.map(String);
      const near = typeof found === 'string' ? suggest(found, values) : undefined;
      return [error('BAD_VALUE', `${subject} has a value stack does not accept`, marked ?? `one of ${values.join(', ')}`, near ? `did you mean \`${near}\`?` : undefined)];
    }
    case 'invalid_key':
      return [badName(path, raw)];
    case 'too_small':
    case 'too_big':
      return [error('BAD_VALUE', `${subject} is out of range`, marked ?? `${issue.code === 'too_small' ? 'at least' : 'at most'} ${String(issue.code === 'too_small' ? issue.minimum : issue.maximum)}`)];
    default:
      return [error('BAD_VALUE', `${subject} has a value stack does not accept`, marked ?? 'a valid value')];
  }
}

// An unknown key: a cosmetic one warns, an unsupported one is named, anything else gets a suggestion.
function keyDiagnostic(parent: KeyPath, key: string, raw: RawSpec): Diagnostic {
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

// A hint for the usual ways a value ends up of the wrong kind.
function typeHint(found: unknown, expected: string): string | undefined {
  if (found === null) return 'the key has no value: give it one, or remove the key';
  if (typeof found === 'string' && /\blist\b/.test(expected) && !/\bstring\b/.test(expected)) return `write it as a list: [${JSON.stringify(found)}]`;
  if (typeof found === 'string' && /mapping/.test(expected)) return 'check the indentation: the keys of a mapping go on the lines below, indented';
  if ((typeof found === 'number' || typeof found === 'boolean') && /string/.test(expected)) return 'put the value in quotes';
  return undefined;
}

// How a message names the value at `path`: its key, or `key[i]` for a list item.
function subjectOf(path: KeyPath): string {
  const last = path[path.length - 1];
  if (typeof last !== 'number') return String(last ?? 'the spec');
  return `${String(path[path.length - 2] ?? '')}[${last}]`;
}

function unionExpected(issue: Extract<Issue, { code: 'invalid_union' }>): string {
  const kinds = new Set<string>();
  for (const errs of issue.errors) for (const e of errs) if (e.code === 'invalid_type' && e.path.length === 0) kinds.add(article(e.expected));
  return kinds.size > 0 ? [...kinds].join(' or ') : 'a valid value';
}

function article(type: string): string {
  const names: Record<string, string> = {
    string: 'a string',
    number: 'a number',
    int: 'a whole number',
    boolean: 'true or false',
    object: 'a mapping',
    array: 'a list',
    null: 'nothing (null)',
  };
  return names[type] ?? type;
}
