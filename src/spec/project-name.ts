// The project name as compose picks and checks it: -p, else COMPOSE_PROJECT_NAME (the environment
// or the .env file), else `name:`, else the project folder. A name given (-p, the variable,
// `name:`) must be valid as written; a folder's name is normalized (compose-go's loader).
import { basename } from 'node:path';
import { UserError } from '../errors.js';
import { isCgroupFileName } from '../cgroup-files.js';

const VALID = /^[a-z0-9][a-z0-9_-]*$/;

/** Lowercases and drops every character compose does not allow, and leading `_`/`-`. */
export function normalizeProjectName(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '')
    .replace(/^[_-]+/, '');
}

/**
 * True when `s` is a project name compose accepts as written, and not the name of a file the
 * kernel keeps in every cgroup folder (`tasks`, `notify_on_release`): stack/<project> is a folder.
 */
export function isValidProjectName(s: string): boolean {
  return VALID.test(s) && !isCgroupFileName(s);
}

/** Where a name came from decides whether a bad one is an error (-p, variable, name:) or normalized (folder). */
export type NameSource =
  | { readonly flag: string }
  | { readonly variable: string }
  | { readonly field: string }
  | { readonly folder: string };

const RULE = 'lowercase letters, digits, "_" and "-", starting with a letter or digit';

/** Why `name` is refused: the rule, or the cgroup file it would collide with. */
function why(name: string): string {
  return isCgroupFileName(name)
    ? `${JSON.stringify(name)} is the name of a file the kernel keeps in every cgroup folder, where stack makes one folder per project`
    : `a project name holds only ${RULE}`;
}

/** A valid name near `name` ('' when none): normalized, and moved off a cgroup file's name. */
function fixName(name: string): string {
  const fixed = normalizeProjectName(name);
  return fixed && isCgroupFileName(fixed) ? `${fixed}-app` : fixed;
}

/** The project name, or a UserError with a hint (code PROJECT_NAME). `name:` errors are reported
 * by the caller with a position, so it passes a checked value. */
export function resolveProjectName(src: NameSource): string {
  if ('flag' in src) {
    if (isValidProjectName(src.flag)) return src.flag;
    const fixed = fixName(src.flag);
    throw new UserError(
      'PROJECT_NAME',
      `invalid project name ${JSON.stringify(src.flag)}: ${why(src.flag)}`,
      fixed ? `try -p ${fixed}` : 'pass -p with a name such as myapp',
    );
  }
  if ('variable' in src) {
    if (isValidProjectName(src.variable)) return src.variable;
    const fixed = fixName(src.variable);
    throw new UserError(
      'PROJECT_NAME',
      `invalid project name ${JSON.stringify(src.variable)} in COMPOSE_PROJECT_NAME: ${why(src.variable)}`,
      fixed ? `try COMPOSE_PROJECT_NAME=${fixed}` : 'set COMPOSE_PROJECT_NAME to a name such as myapp',
    );
  }
  if ('field' in src) return src.field;
  const name = normalizeProjectName(basename(src.folder));
  if (!name || isCgroupFileName(name))
    throw new UserError(
      'PROJECT_NAME',
      `cannot derive a project name from the folder ${JSON.stringify(src.folder)}${name ? `: ${why(name)}` : ''}`,
      'set `name:` in the spec or pass -p NAME',
    );
  return name;
}

/** The message for an invalid `name:` value. */
export function invalidNameMessage(name: string): { message: string; hint: string } {
  const fixed = fixName(name);
  return {
    message: `invalid project name ${JSON.stringify(name)}: ${why(name)}`,
    hint: fixed ? `try name: ${fixed}` : 'use a name such as myapp',
  };
}
