// The project name as compose picks and checks it: -p, else COMPOSE_PROJECT_NAME (the environment
// or the .env file), else `name:`, else the project folder. A name given (-p, the variable,
// `name:`) must be valid as written; a folder's name is normalized (compose-go's loader).
import { basename } from 'node:path';
import { UserError } from '../errors.js';

const VALID = /^[a-z0-9][a-z0-9_-]*$/;

/** Lowercases and drops every character compose does not allow, and leading `_`/`-`. */
export function normalizeProjectName(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '')
    .replace(/^[_-]+/, '');
}

/** True when `s` is a project name compose accepts as written. */
export function isValidProjectName(s: string): boolean {
  return VALID.test(s);
}

/** Where a name came from decides whether a bad one is an error (-p, variable, name:) or normalized (folder). */
export type NameSource =
  | { readonly flag: string }
  | { readonly variable: string }
  | { readonly field: string }
  | { readonly folder: string };

const RULE = 'lowercase letters, digits, "_" and "-", starting with a letter or digit';

/** The project name, or a UserError with a hint (code PROJECT_NAME). `name:` errors are reported
 * by the caller with a position, so it passes a checked value. */
export function resolveProjectName(src: NameSource): string {
  if ('flag' in src) {
    if (isValidProjectName(src.flag)) return src.flag;
    const fixed = normalizeProjectName(src.flag);
    throw new UserError(
      'PROJECT_NAME',
      `invalid project name ${JSON.stringify(src.flag)}: a project name holds only ${RULE}`,
      fixed ? `try -p ${fixed}` : 'pass -p with a name such as myapp',
    );
  }
  if ('variable' in src) {
    if (isValidProjectName(src.variable)) return src.variable;
    const fixed = normalizeProjectName(src.variable);
    throw new UserError(
      'PROJECT_NAME',
      `invalid project name ${JSON.stringify(src.variable)} in COMPOSE_PROJECT_NAME: a project name holds only ${RULE}`,
      fixed ? `try COMPOSE_PROJECT_NAME=${fixed}` : 'set COMPOSE_PROJECT_NAME to a name such as myapp',
    );
  }
  if ('field' in src) return src.field;
  const name = normalizeProjectName(basename(src.folder));
  if (!name)
    throw new UserError(
      'PROJECT_NAME',
      `cannot derive a project name from the folder ${JSON.stringify(src.folder)}`,
      'set `name:` in the spec or pass -p NAME',
    );
  return name;
}

/** The message for an invalid `name:` value. */
export function invalidNameMessage(name: string): { message: string; hint: string } {
  const fixed = normalizeProjectName(name);
  return {
    message: `invalid project name ${JSON.stringify(name)}: a project name holds only ${RULE}`,
    hint: fixed ? `try name: ${fixed}` : 'use a name such as myapp',
  };
}
