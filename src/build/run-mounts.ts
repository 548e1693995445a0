// `RUN --mount=...` as BuildKit reads it: `type=cache` (a folder kept between builds, shared by
// the steps that name its id), `type=bind` (the context's files, or a stage's or an image's with
// `from=`: read-only, or `rw` with the writes dropped), `type=tmpfs`, `type=secret` (a secret of
// the service's `build.secrets`, a file at /run/secrets/<id>). `ssh` is refused: stack forwards no agent. Pure: the builder makes the folders and the launcher mounts them.
import { posix } from 'node:path';
import { parseBytes } from '../spec/units.js';

/** One `--mount` of a RUN. */
export type RunMount =
  | { readonly type: 'cache'; readonly target: string; readonly id: string; readonly readOnly: boolean; readonly mode: number; readonly uid: number; readonly gid: number; readonly sharing: 'shared' | 'private' | 'locked' }
  | { readonly type: 'bind'; readonly target: string; readonly source: string; readonly from?: string; readonly writable: boolean }
  | { readonly type: 'tmpfs'; readonly target: string; readonly sizeBytes?: number }
  | { readonly type: 'secret'; readonly id: string; readonly target: string; readonly required: boolean; readonly mode: number; readonly uid: number; readonly gid: number };

/** Why a mount is refused (the builder says it at the instruction's line), with a hint. */
export class RunMountError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

/** Go's ParseBool, as BuildKit reads a flag's value; a flag alone (`readonly`) is true. */
function bool(text: string, value: string): boolean {
  if (value === '' || ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw new RunMountError(`--mount=${text}: "${value}" is not true or false`, 'write true or false');
}

/** A `--mount` value (`type=cache,target=/root/.npm`), its target resolved against the working folder. */
export function parseRunMount(text: string, workdir: string): RunMount {
  const fields = new Map<string, string>();
  for (const part of text.split(',')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? '' : part.slice(eq + 1).trim();
    const name = ({ dst: 'target', destination: 'target', src: 'source', ro: 'readonly' } as Record<string, string>)[key] ?? key;
    if (fields.has(name)) throw new RunMountError(`--mount=${text}: "${key}" is given twice`, 'give each field once');
    fields.set(name, value);
  }
  const type = (fields.get('type') ?? 'bind').toLowerCase();
  const known: Record<string, readonly string[]> = {
    cache: ['type', 'target', 'id', 'readonly', 'mode', 'uid', 'gid', 'sharing', 'from', 'source'],
    bind: ['type', 'target', 'source', 'from', 'readonly', 'rw', 'readwrite'],
    tmpfs: ['type', 'target', 'size'],
    secret: ['type', 'id', 'target', 'required', 'mode', 'uid', 'gid'],
  };
  if (type === 'ssh') throw new RunMountError('--mount=type=ssh is not supported by stack', 'fetch over https in the RUN, or COPY what the key gives access to into the context');
  const fieldsOf = known[type];
  if (fieldsOf === undefined) throw new RunMountError(`--mount=${text}: unknown type "${type}"`, 'use type=cache, type=bind or type=tmpfs');
  for (const key of fields.keys()) {
    if (!fieldsOf.includes(key)) throw new RunMountError(`--mount=${text}: "${key}" is not a field of a ${type} mount`, `a ${type} mount takes ${fieldsOf.filter((f) => f !== 'type').join(', ')}`);
  }
  const number = (key: string, fallback: number, octal = false): number => {
    const v = fields.get(key);
    if (v === undefined) return fallback;
    if (!(octal ? /^0?[0-7]{1,4}$/ : /^\d+$/).test(v)) throw new RunMountError(`--mount=${text}: ${key}=${v} is not ${octal ? 'an octal mode' : 'a number'}`, octal ? 'e.g. mode=0755' : `e.g. ${key}=1000`);
    return octal ? parseInt(v, 8) : Number(v);
  };
  if (type === 'secret') {
    // BuildKit's defaults: the id is the target's base name, the target /run/secrets/<id>.
    const given = fields.get('target');
    const id = fields.get('id') || (given ? posix.basename(given) : '');
    if (id === '') throw new RunMountError(`--mount=${text}: no id`, 'name the secret: id=NAME (one of the service\'s build.secrets)');
    return {
      type,
      id,
      target: given ? posix.resolve(workdir, given) : `/run/secrets/${id}`,
      required: fields.has('required') ? bool(text, fields.get('required')!) : false,
      mode: number('mode', 0o400, true),
      uid: number('uid', 0),
      gid: number('gid', 0),
    };
  }
  const rawTarget = fields.get('target');
  if (rawTarget === undefined || rawTarget === '') throw new RunMountError(`--mount=${text}: no target`, 'name where it is mounted: target=/path');
  const target = posix.resolve(workdir, rawTarget);
  if (target === '/') throw new RunMountError(`--mount=${text}: the target is the root`, 'mount it on a folder, such as /cache');
  if (type === 'cache') {
    if (fields.has('from') || fields.has('source')) throw new RunMountError(`--mount=${text}: a cache mount seeded from another stage is not supported by stack`, 'leave from= and source= out: the cache starts empty');
    const sharing = (fields.get('sharing') ?? 'shared').toLowerCase();
    if (sharing !== 'shared' && sharing !== 'private' && sharing !== 'locked') throw new RunMountError(`--mount=${text}: sharing=${sharing} is not shared, private or locked`, 'e.g. sharing=locked');
    return {
      type,
      target,
      // BuildKit's default id is the target as written, cleaned: `target=node_modules` is one cache whatever the WORKDIR.
      id: fields.get('id') || posix.normalize(rawTarget),
      readOnly: bool(text, fields.get('readonly') ?? 'false'),
      mode: number('mode', 0o755, true),
      uid: number('uid', 0),
      gid: number('gid', 0),
      sharing,
    };
  }
  if (type === 'bind') {
    // Writable (rw, readwrite, readonly=false): the step writes into its own copy, which is dropped.
    const rw = fields.has('rw') ? bool(text, fields.get('rw')!) : fields.has('readwrite') ? bool(text, fields.get('readwrite')!) : false;
    const writable = fields.has('readonly') ? !bool(text, fields.get('readonly')!) : rw;
    const from = fields.get('from');
    return { type, target, source: fields.get('source') || '.', writable, ...(from !== undefined && from !== '' && { from }) };
  }
  const size = fields.get('size');
  if (size === undefined) return { type: 'tmpfs', target };
  const bytes = parseBytes(size);
  if (!bytes.ok) throw new RunMountError(`--mount=${text}: size=${size} is not a size`, 'e.g. size=512m');
  return { type: 'tmpfs', target, sizeBytes: bytes.value };
}
