// Structure validation: the merged document against the zod schema, every issue turned into
// a Diagnostic of ours (where, which key, expected, found, hint), all of them at once.
import type { z } from 'zod';
import type { Diagnostic } from './diagnostics.js';
import { EXPECTED_MARK, specSchema } from './schema.js';
import { isExtensionKey } from './keys.js';
import type { KeyPath, RawSpec } from './raw.js';
import { suggest } from './suggest.js';
import { badName, describeValue, emptySpec, nameFindings, keyDiagnostic, locate, valueAt } from './findings.js';

type Issue = z.core.$ZodIssue;

/**
 * Every structural finding about `raw.doc`: errors and warnings, in document order. Loading a
 * spec calls it only when the generated check refuses the document (structure.ts checkStructure).
 */
export function validate(raw: RawSpec): Diagnostic[] {
  const empty = emptySpec(raw);
  if (empty) return [empty];
  const result = specSchema.safeParse(raw.doc);
  const out: Diagnostic[] = nameFindings(raw);
  if (result.success) return out;
  for (const issue of result.error.issues) out.push(...toDiagnostics(issue, [], raw));
  return out;
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
