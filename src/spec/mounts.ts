// Service volumes (short `SOURCE:TARGET[:MODE]` and long syntax) and `tmpfs:` entries as Mounts:
// binds with absolute host paths, named volumes checked against the project, anonymous and tmpfs.
import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import type { Mount } from './project.js';
import type { KeyPath } from './raw.js';
import type { Report } from './report.js';
import { suggest } from './suggest.js';
import { asBoolean, parseBytes } from './units.js';

/** What mounts need to know about the project. */
export interface MountContext {
  readonly report: Report;
  readonly workingDir: string;
  readonly env: Readonly<Record<string, string>>;
  /** Keys of the project's top-level volumes. */
  readonly volumes: ReadonlySet<string>;
}

/** A long-syntax volume entry as validated. */
export interface LongMount {
  type: 'bind' | 'volume' | 'tmpfs';
  source?: string | undefined;
  target: string;
  read_only?: boolean | string | undefined;
  bind?: { create_host_path?: boolean | string | undefined } | undefined;
  volume?: { nocopy?: boolean | string | undefined } | undefined;
  tmpfs?: { size?: number | string | undefined; mode?: number | string | undefined } | undefined;
}

const SHORT_SYNTAX = '"SOURCE:TARGET[:ro]", "TARGET" (anonymous volume) or "NAME:TARGET"';

/** A host path from the spec, absolute: `~` is the home folder, relative paths are under the project. */
export function hostPath(source: string, ctx: Pick<MountContext, 'workingDir' | 'env'>): string {
  if (source === '~' || source.startsWith('~/')) return resolve(ctx.env.HOME ?? homedir(), source.slice(2));
  return resolve(ctx.workingDir, source);
}

const isPath = (s: string) => s.startsWith('.') || s.startsWith('/') || s.startsWith('~');

/** Parses one entry of a service's `volumes:`; reports and returns undefined when it is wrong. */
export function parseMount(entry: string | LongMount, path: KeyPath, ctx: MountContext): Mount | undefined {
  return typeof entry === 'string' ? parseShort(entry, path, ctx) : parseLong(entry, path, ctx);
}

function parseShort(text: string, path: KeyPath, ctx: MountContext): Mount | undefined {
  const parts = text.split(':');
  if (parts.length === 1) return checkTarget(parts[0]!, path, ctx) ? { type: 'volume', target: parts[0]!, readOnly: false } : undefined;
  if (parts.length > 3 || parts.some((p) => p === '')) {
    ctx.report.error(path, 'BAD_VOLUME', 'cannot read this volume', { expected: SHORT_SYNTAX });
    return undefined;
  }
  const [source, target, mode = 'rw'] = parts as [string, string, string?];
  let readOnly = false;
  let noCopy = false;
  for (const option of mode.split(',')) {
    if (option === 'ro') readOnly = true;
    else if (option === 'nocopy') noCopy = true;
    else if (!['rw', 'z', 'Z', 'cached', 'delegated', 'consistent', 'nocopy'].includes(option)) {
      ctx.report.error(path, 'BAD_VOLUME', `unknown volume mode \`${option}\``, { expected: 'ro or rw' });
      return undefined;
    }
  }
  if (!checkTarget(target, path, ctx)) return undefined;
  if (isPath(source)) return { type: 'bind', source: hostPath(source, ctx), target, readOnly, createHostPath: true };
  return checkVolume(source, path, ctx) ? { type: 'volume', source, target, readOnly, ...(noCopy && { noCopy: true as const }) } : undefined;
}

function parseLong(entry: LongMount, path: KeyPath, ctx: MountContext): Mount | undefined {
  const readOnly = asBoolean(entry.read_only, false);
  if (!checkTarget(entry.target, [...path, 'target'], ctx)) return undefined;
  switch (entry.type) {
    case 'bind': {
      if (!entry.source) {
        ctx.report.error([...path, 'source'], 'MISSING_KEY', 'a bind mount needs a `source`', { expected: 'a host path', found: 'nothing' });
        return undefined;
      }
      const createHostPath = asBoolean(entry.bind?.create_host_path, false);
      return { type: 'bind', source: hostPath(entry.source, ctx), target: entry.target, readOnly, createHostPath };
    }
    case 'volume': {
      const noCopy = asBoolean(entry.volume?.nocopy, false) ? { noCopy: true as const } : {};
      if (entry.source === undefined || entry.source === '') return { type: 'volume', target: entry.target, readOnly, ...noCopy };
      return checkVolume(entry.source, [...path, 'source'], ctx) ? { type: 'volume', source: entry.source, target: entry.target, readOnly, ...noCopy } : undefined;
    }
    case 'tmpfs': {
      if (entry.source !== undefined) ctx.report.error([...path, 'source'], 'BAD_VOLUME', 'a tmpfs mount has no `source`', { hint: 'remove `source`' });
      const size = entry.tmpfs?.size === undefined ? undefined : parseBytes(entry.tmpfs.size);
      const mode = entry.tmpfs?.mode === undefined ? undefined : parseInt(String(entry.tmpfs.mode), 8);
      return {
        type: 'tmpfs',
        target: entry.target,
        readOnly,
        ...(size?.ok ? { sizeBytes: size.value } : {}),
        ...(mode !== undefined ? { mode } : {}),
      };
    }
  }
}

/** Parses one `tmpfs:` entry: `PATH[:size=64m,mode=1777,ro]`. */
export function parseTmpfs(text: string, path: KeyPath, ctx: MountContext): Mount | undefined {
  const colon = text.indexOf(':');
  const target = colon < 0 ? text : text.slice(0, colon);
  if (!checkTarget(target, path, ctx)) return undefined;
  let sizeBytes: number | undefined;
  let mode: number | undefined;
  let readOnly = false;
  for (const option of colon < 0 ? [] : text.slice(colon + 1).split(',')) {
    const [name, value = ''] = option.split('=', 2) as [string, string?];
    if (name === 'size') {
      const size = parseBytes(value);
      if (!size.ok) ctx.report.error(path, 'BAD_TMPFS', `tmpfs size "${value}" ${size.reason}`, { expected: 'size=64m' });
      else sizeBytes = size.value;
    } else if (name === 'mode' && /^[0-7]{3,4}$/.test(value)) mode = parseInt(value, 8);
    else if (name === 'ro') readOnly = true;
    else if (name === 'rw') readOnly = false;
    else ctx.report.warn(path, 'IGNORED_OPTION', `tmpfs option \`${option}\` has no effect in stack and is ignored`);
  }
  return { type: 'tmpfs', target, readOnly, ...(sizeBytes !== undefined ? { sizeBytes } : {}), ...(mode !== undefined ? { mode } : {}) };
}

function checkTarget(target: string, path: KeyPath, ctx: MountContext): boolean {
  if (!isAbsolute(target)) {
    ctx.report.error(path, 'BAD_VOLUME', `mount target \`${target}\` is not an absolute path`, { expected: 'an absolute path inside the service, e.g. /data' });
    return false;
  }
  // The launcher builds the view in /.stack-host (the host's old root) and /.stack-upper: never a target.
  const first = target.split('/').find((c) => c !== '') ?? '';
  if (first.startsWith('.stack-')) {
    ctx.report.error(path, 'BAD_VOLUME', `mount target \`${target}\` is in /${first}, where stack builds the service's view`, {
      expected: 'a target whose first folder does not start with `.stack-`, e.g. /data',
    });
    return false;
  }
  return true;
}

function checkVolume(name: string, path: KeyPath, ctx: MountContext): boolean {
  if (ctx.volumes.has(name)) return true;
  const near = suggest(name, ctx.volumes);
  ctx.report.error(path, 'UNDEFINED_VOLUME', `volume \`${name}\` is not declared under the top-level \`volumes:\``, {
    hint: (near ? `did you mean \`${near}\`? Otherwise ` : '') + `add \`volumes: {${name}: {}}\` at the top level, or write ./${name} for a folder of the project`,
  });
  return false;
}
