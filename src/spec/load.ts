// Loads a project's spec files into one merged, interpolated document that remembers where each
// value was written: discovery, .env, project name, interpolation, extends, merge, include.
import { pathExists, pathStat, watchedEnv } from './fs.js';
import { dirname, join, resolve } from 'node:path';
import { SpecError } from './diagnostics.js';
import { discoverSpecFiles, STDIN } from './discover.js';
import { readEnvFiles } from './dotenv.js';
import { applyExtends } from './extends.js';
import { applyInclude } from './include.js';
import { substitute, TemplateError } from './interpolate.js';
import { mergeNodes } from './merge.js';
import { invalidNameMessage, isValidProjectName, resolveProjectName } from './project-name.js';
import type { KeyPath, Location, RawSpec } from './raw.js';
import { LoadContext } from './source.js';
import { locateIn, locateKeyIn, mapNode, toPlain, type MapNode, type Node } from './tree.js';

/** What the CLI's global options and the process give the loader. */
export interface LoadOptions {
  readonly cwd: string;
  /** -f FILE, repeatable; later files merge over earlier ones. */
  readonly files?: readonly string[];
  /** -p NAME */
  readonly projectName?: string;
  /** --project-directory */
  readonly projectDirectory?: string;
  /** --env-file, repeatable; replaces the project's .env. */
  readonly envFiles?: readonly string[];
  /** The process environment (it wins over env files). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The text of `-f -`; by default standard input is read. */
  readonly stdin?: string;
  /**
   * false: values are kept as written, variables and $$ included (compose's `config
   * --no-interpolate` and `--variables`); the paths of `extends: file:` and `include` then too.
   */
  readonly interpolate?: boolean;
}

/** RawSpec plus where each key (not its value) was written, for diagnostics about keys. */
export interface LoadedSpec extends RawSpec {
  /** Place of the key at the end of `path` (e.g. an unknown key); the value's place otherwise. */
  locateKey(path: KeyPath): Location | undefined;
}

/** Loads and merges the spec files; throws SpecError with every error found, or UserError
 * (SPEC_NOT_FOUND, PROJECT_NAME) when there is nothing to load. */
export async function loadRaw(opts: LoadOptions): Promise<LoadedSpec> {
  const cwd = resolve(opts.cwd);
  const projectDir = opts.projectDirectory ? resolve(cwd, opts.projectDirectory) : undefined;
  // Without -f, compose searches from the project directory when one is given.
  const discovered = opts.files?.length ? discoverSpecFiles(cwd, opts.files) : discoverSpecFiles(projectDir ?? cwd);
  const files = discovered.files;
  const workingDir = projectDir ?? (files[0] === STDIN ? cwd : dirname(files[0]!));
  const ctx = new LoadContext(opts.stdin === undefined ? undefined : () => opts.stdin!, opts.interpolate ?? true);
  if (discovered.note) ctx.diagnostics.push({ severity: 'warning', code: 'MULTIPLE_SPEC_FILES', message: discovered.note });

  const env = projectEnv(opts, cwd, workingDir);
  const parsed = files.map((f) => ctx.parse(f));
  failOnErrors(ctx);
  const docs = parsed as MapNode[][];

  const projectName = pickProjectName(opts, docs, env, workingDir, ctx);
  failOnErrors(ctx);
  // What interpolation reads is the name chosen, as compose sets it (-p over the variable too).
  env.COMPOSE_PROJECT_NAME = projectName;
  const lookup = (k: string): string | undefined => env[k];

  let model: Node | undefined;
  files.forEach((file, i) => {
    for (const doc of docs[i]!) {
      const interpolated = ctx.interpolate(doc, lookup);
      model = mergeNodes(model, applyExtends(interpolated, file, workingDir, lookup, ctx));
    }
  });
  let root: MapNode = model?.kind === 'map' ? model : mapNode({ file: files[0]!, line: 1, col: 1 }, []);
  root = applyInclude(root, workingDir, env, ctx, files, workingDir);
  failOnErrors(ctx);

  const final = root;
  return {
    doc: toPlain(final) as Record<string, unknown>,
    locate: (path) => locateIn(final, path),
    locateKey: (path) => locateKeyIn(final, path),
    files,
    workingDir,
    projectName,
    env,
    warnings: ctx.unique().filter((d) => d.severity === 'warning'),
  };
}

function failOnErrors(ctx: LoadContext): void {
  if (ctx.errorCount > 0) throw new SpecError(ctx.unique());
}

/** Process env over the env files (--env-file, else the project's .env when present). */
function projectEnv(opts: LoadOptions, cwd: string, workingDir: string): Record<string, string> {
  const defined: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.env)) if (v !== undefined) defined[k] = v;
  let files: string[];
  if (opts.envFiles && opts.envFiles.length > 0) files = opts.envFiles.map((f) => resolve(cwd, f));
  else {
    const dflt = join(workingDir, '.env');
    files = pathExists(dflt) && pathStat(dflt).isFile() ? [dflt] : [];
  }
  // Looked at through watchedEnv: a kept load depends on the variables the load read, not on the whole environment.
  return watchedEnv({ ...readEnvFiles(files, watchedEnv(defined, opts.env)), ...defined }, opts.env);
}

/** -p, else COMPOSE_PROJECT_NAME, else the last `name:` of the files (interpolated), else the project folder's name. */
function pickProjectName(
  opts: LoadOptions,
  docs: readonly MapNode[][],
  env: Readonly<Record<string, string>>,
  workingDir: string,
  ctx: LoadContext,
): string {
  if (opts.projectName !== undefined) return resolveProjectName({ flag: opts.projectName });
  if (env.COMPOSE_PROJECT_NAME) return resolveProjectName({ variable: env.COMPOSE_PROJECT_NAME });
  let field: Node | undefined;
  for (const fileDocs of docs) for (const d of fileDocs) field = d.entries.get('name') ?? field;
  if (field?.kind === 'scalar' && field.value !== null && field.value !== '') {
    let name = String(field.value);
    try {
      name = substitute(name, (k) => env[k]);
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      // Not interpolating (compose's skip): a name that needs a variable falls back to the folder's.
      if (opts.interpolate === false) return resolveProjectName({ folder: workingDir });
      ctx.error({ code: 'INTERPOLATION', location: field.loc, path: ['name'], message: e.message });
      return '';
    }
    if (name !== '') {
      if (isValidProjectName(name)) return resolveProjectName({ field: name });
      const { message, hint } = invalidNameMessage(name);
      ctx.error({ code: 'PROJECT_NAME', location: field.loc, path: ['name'], message, hint, found: JSON.stringify(name) });
      return '';
    }
  }
  return resolveProjectName({ folder: workingDir });
}

