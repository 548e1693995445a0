// Top-level `secrets:` and `configs:` and the services' references to them → the Project's
// definitions and each service's list of files to mount. A definition keeps where its value
// comes from (a host file, the NAME of an environment variable, inline content), never the
// value of a variable: the Project is written into the snapshot. Checks that depend on the
// host (a missing file, an unset variable) only warn here and are marked in the definition;
// `up` refuses them (planner/runnable.ts checkSecretSources).
import { sha256Hex } from '../sys/lazy-crypto.js';
import { pathExists, pathStat, readText } from './fs.js';
import { join, posix } from 'node:path';
import { readEnvFiles } from './dotenv.js';
import { hostPath } from './mounts.js';
import type { Project, SecretDef, SecretKind, SecretMount } from './project.js';
import type { KeyPath } from './raw.js';
import type { Report } from './report.js';
import type { ServiceSpec, Spec } from './schema.js';
import { suggest } from './suggest.js';
import { asBoolean } from './units.js';

/** Where a secret is mounted unless its reference names a target (a relative target is under it). */
export const SECRETS_DIR = '/run/secrets';

/** The top-level key of a kind. */
const TOP: Record<SecretKind, 'secrets' | 'configs'> = { secret: 'secrets', config: 'configs' };

interface Ctx {
  readonly report: Report;
  readonly workingDir: string;
  readonly env: Readonly<Record<string, string>>;
}

/** A top-level definition as validation accepted it. */
interface DefSpec {
  name?: string;
  file?: string;
  environment?: string;
  content?: string;
  external?: unknown;
}

/** A service's long-syntax reference as validation accepted it. */
interface RefSpec {
  source: string;
  target?: string;
  uid?: string | number;
  gid?: string | number;
  mode?: string | number;
}

/** Normalizes the top-level definitions of one kind; problems go to the report. */
export function secretDefs(kind: SecretKind, spec: Spec, project: string, ctx: Ctx): Record<string, SecretDef> {
  const top = TOP[kind];
  const given = ((spec as Record<string, unknown>)[top] ?? {}) as Record<string, DefSpec | null>;
  const out: Record<string, SecretDef> = {};
  for (const key of Object.keys(given).sort()) {
    const d = given[key] ?? {};
    const at: KeyPath = [top, key];
    const external = d.external !== undefined && (typeof d.external === 'object' ? true : asBoolean(d.external as never, false));
    const sources = (['file', 'environment', 'content'] as const).filter((k) => d[k] !== undefined);
    const allowed = kind === 'secret' ? '`file` or `environment`' : '`file`, `environment` or `content`';
    if (external) {
      if (sources.length > 0) report(ctx, at, 'BAD_SECRET', `${kind} \`${key}\` is external and also has \`${sources[0]}\``, { hint: 'an external one is defined elsewhere: drop `external: true` or the source' });
      out[key] = { key, kind, name: d.name ?? key, source: { type: 'external' } };
      continue;
    }
    if (sources.length !== 1) {
      report(ctx, at, 'BAD_SECRET', sources.length === 0 ? `${kind} \`${key}\` has no source` : `${kind} \`${key}\` has more than one source (${sources.join(', ')})`, {
        expected: `exactly one of ${allowed}`,
        hint: kind === 'secret' ? `e.g. ${top}: {${key}: {file: ./${key}.txt}}` : `e.g. ${top}: {${key}: {content: "..."}}`,
      });
      // Still defined (the spec is refused anyway), so its users are not also told it is undefined.
      out[key] = { key, kind, name: d.name ?? key, source: { type: 'external' } };
      continue;
    }
    const name = d.name ?? `${project}_${key}`;
    if (d.file !== undefined) {
      const path = hostPath(d.file, ctx);
      const missing = !pathExists(path);
      if (missing) {
        ctx.report.warn([...at, 'file'], 'SECRET_FILE_MISSING', `the file of ${kind} \`${key}\` does not exist: ${path}`, { hint: '`up` refuses to start a service that uses it until it exists' });
      }
      out[key] = { key, kind, name, source: { type: 'file', path, ...(missing && { missing: true as const }) } };
    } else if (d.environment !== undefined) {
      const unset = ctx.env[d.environment] === undefined;
      if (unset) {
        ctx.report.warn([...at, 'environment'], 'SECRET_VARIABLE_UNSET', `the variable ${d.environment} of ${kind} \`${key}\` is not set`, { hint: `set ${d.environment} in the environment or the project's .env; \`up\` refuses it unset` });
      }
      out[key] = { key, kind, name, source: { type: 'environment', variable: d.environment, ...(unset && { unset: true as const }) } };
    } else {
      out[key] = { key, kind, name, source: { type: 'content', content: d.content! } };
    }
  }
  return out;
}

function report(ctx: Ctx, path: KeyPath, code: string, message: string, detail: { expected?: string; hint?: string }): void {
  ctx.report.error(path, code, message, detail);
}

/**
 * The number at `path` as written in its file when it has a leading 0 (`0440`): compose's YAML
 * reader (yaml.v3) reads it as octal where YAML 1.2 reads 440. Undefined when not found.
 */
function writtenNumber(report: Report, path: KeyPath): string | undefined {
  const loc = report.raw.locate(path);
  if (loc === undefined) return undefined;
  try {
    const line = readText(loc.file).split('\n')[loc.line - 1] ?? '';
    const token = /^0[0-7]+\b/.exec(line.slice(loc.col - 1));
    return token ? token[0] : undefined;
  } catch {
    return undefined;
  }
}

/** sha256 of where a definition's value comes from (never a variable's value). */
function definitionDigest(def: SecretDef): string {
  const { type } = def.source;
  const what = type === 'file' ? def.source.path : type === 'environment' ? def.source.variable : type === 'content' ? def.source.content : def.name;
  return sha256Hex(`${type}\0${what}`);
}

/** Octal mode from `0440`, "0440" or 288; undefined when it is not one. */
function parseMode(mode: string | number): number | undefined {
  if (typeof mode === 'number') return Number.isInteger(mode) && mode >= 0 && mode <= 0o7777 ? mode : undefined;
  const m = /^\s*(0o?)?([0-7]{1,4})\s*$/.exec(mode);
  return m ? parseInt(m[2]!, 8) : undefined;
}

function parseId(id: string | number): number | undefined {
  const text = String(id).trim();
  return /^\d+$/.test(text) && Number(text) < 2 ** 32 ? Number(text) : undefined;
}

/** Normalizes a service's references of one kind against the project's definitions. */
/** The `build.secrets` of service `name`: each a top-level secret (an undefined one is an error, as for the service's own), by the id its RUNs mount it as. */
export function buildSecretRefs(name: string, spec: ServiceSpec, defs: Readonly<Record<string, SecretDef>>, ctx: Ctx): { source: string; id: string }[] {
  const build = spec.build;
  if (build === undefined || typeof build === 'string') return [];
  const out: { source: string; id: string }[] = [];
  (build.secrets ?? []).forEach((entry, i) => {
    const at: KeyPath = ['services', name, 'build', 'secrets', i];
    const ref = typeof entry === 'string' ? { source: entry, target: undefined } : entry;
    if (defs[ref.source] === undefined) {
      const near = suggest(ref.source, Object.keys(defs));
      ctx.report.error(typeof entry === 'string' ? at : [...at, 'source'], 'UNDEFINED_SECRET', `the build of \`${name}\` uses secret \`${ref.source}\`, which is not defined under top-level \`secrets:\``, {
        expected: Object.keys(defs).length ? `one of: ${Object.keys(defs).join(', ')}` : 'a secret declared under `secrets:`',
        hint: near ? `did you mean \`${near}\`?` : `declare it: secrets: {${ref.source}: {file: ./${ref.source}}}`,
      });
      return;
    }
    out.push({ source: ref.source, id: ref.target ?? ref.source });
  });
  return out;
}

export function serviceSecretMounts(kind: SecretKind, name: string, spec: ServiceSpec, defs: Readonly<Record<string, SecretDef>>, ctx: Ctx): SecretMount[] {
  const top = TOP[kind];
  const list = ((spec as Record<string, unknown>)[top] ?? []) as (string | RefSpec)[];
  const out: SecretMount[] = [];
  list.forEach((entry, i) => {
    const at: KeyPath = ['services', name, top, i];
    const ref: RefSpec = typeof entry === 'string' ? { source: entry } : entry;
    const def = defs[ref.source];
    if (def === undefined) {
      const near = suggest(ref.source, Object.keys(defs));
      ctx.report.error(typeof entry === 'string' ? at : [...at, 'source'], kind === 'secret' ? 'UNDEFINED_SECRET' : 'UNDEFINED_CONFIG', `\`${name}\` uses ${kind} \`${ref.source}\`, which is not defined under top-level \`${top}:\``, {
        expected: Object.keys(defs).length ? `one of: ${Object.keys(defs).join(', ')}` : `a ${kind} declared under \`${top}:\``,
        hint: near ? `did you mean \`${near}\`?` : `declare it: ${top}: {${ref.source}: {file: ./${ref.source}}}`,
      });
      return;
    }
    let target = ref.target ?? (kind === 'secret' ? `${SECRETS_DIR}/${ref.source}` : `/${ref.source}`);
    if (!target.startsWith('/')) {
      if (kind === 'secret') target = `${SECRETS_DIR}/${target}`;
      else {
        ctx.report.error([...at, 'target'], 'BAD_PATH', `config target \`${target}\` is not an absolute path`, { expected: 'an absolute path inside the service, e.g. /etc/app/config.yaml' });
        return;
      }
    }
    if (target.split('/').some((p) => p === '..' || p === '.')) {
      ctx.report.error([...at, 'target'], 'BAD_PATH', `target \`${target}\` contains \`.\` or \`..\``, { expected: `a plain path such as ${posix.normalize(target)}` });
      return;
    }
    const mount: { -readonly [K in keyof SecretMount]: SecretMount[K] } = { source: ref.source, target, definition: definitionDigest(def) };
    for (const key of ['uid', 'gid'] as const) {
      if (ref[key] === undefined) continue;
      const id = parseId(ref[key]);
      if (id === undefined) ctx.report.error([...at, key], 'BAD_VALUE', `\`${key}\` must be a number`, { expected: 'a numeric id such as 1000' });
      else mount[key] = id;
    }
    if (ref.mode !== undefined) {
      const mode = parseMode(typeof ref.mode === 'number' ? (writtenNumber(ctx.report, [...at, 'mode']) ?? ref.mode) : ref.mode);
      if (mode === undefined) ctx.report.error([...at, 'mode'], 'BAD_VALUE', '`mode` is not a file mode', { expected: 'an octal mode such as 0400 or 0440' });
      else mount.mode = mode;
    }
    if (def.source.type === 'file') {
      const set = (['uid', 'gid', 'mode'] as const).filter((k) => ref[k] !== undefined);
      if (set.length > 0) {
        ctx.report.warn([...at, set[0]!], 'IGNORED_FOR_FILE', `\`${set.join('`, `')}\` of ${kind} \`${ref.source}\` is ignored: its source is a file, bound as it is`, {
          hint: 'compose leaves them unimplemented for a file source too; set the owner and mode of the file itself',
        });
        delete mount.uid;
        delete mount.gid;
        delete mount.mode;
      }
    }
    out.push(mount);
  });
  return out;
}

/**
 * The value of a secret's variable, read when the service starts (never kept in the Project): the
 * environment of the process starting it, else the project's .env file (as the loader reads it).
 */
export function secretVariable(project: Project, variable: string, env: Readonly<Record<string, string | undefined>> = process.env): string | undefined {
  if (env[variable] !== undefined) return env[variable];
  const dotenv = join(project.workingDir, '.env');
  if (!pathExists(dotenv) || !pathStat(dotenv).isFile()) return undefined;
  try {
    return readEnvFiles([dotenv], env)[variable];
  } catch {
    return undefined;
  }
}
