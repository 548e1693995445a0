// `include` as compose does it: each entry is loaded as its own application (its own project
// folder for relative paths, its own .env), then its services, networks, volumes, secrets and
// configs join the project. A name defined on both sides differently is an error; cycles are named.
import { pathExists, pathStat } from './fs.js';
import { dirname, join, relative, resolve } from 'node:path';
import { formatLocation, SpecError } from './diagnostics.js';
import { readEnvFiles } from './dotenv.js';
import { applyExtends } from './extends.js';
import { mergeNodes } from './merge.js';
import type { Location } from './raw.js';
import { rebaseModel } from './rebase.js';
import type { LoadContext } from './source.js';
import { mapNode, sameValue, stringOf, withEntry, type MapNode, type Node } from './tree.js';

type Env = Readonly<Record<string, string>>;

interface Entry {
  readonly paths: readonly string[];
  readonly projectDirectory?: string;
  readonly envFiles?: readonly string[];
  readonly node: Node;
}

const RESOURCES = ['services', 'networks', 'volumes', 'secrets', 'configs', 'models'] as const;

/** Loads the `include` entries of `model` (paths relative to `baseDir`) and adds their resources.
 * `chain` holds the files being included (the top-level files first), for cycles. */
export function applyInclude(model: MapNode, baseDir: string, env: Env, ctx: LoadContext, chain: readonly string[], root: string): MapNode {
  const inc = model.entries.get('include');
  if (!inc) return model;
  let out = withEntry(model, 'include', undefined);
  if (inc.kind !== 'seq') {
    ctx.error({ code: 'INCLUDE', location: inc.loc, path: ['include'], message: 'include takes a list of files or of {path, project_directory, env_file}' });
    return out;
  }
  inc.items.forEach((item, i) => {
    const entry = parseEntry(item, ctx, i);
    if (!entry) return;
    const sub = loadIncluded(entry, baseDir, env, ctx, chain, root, i);
    if (sub) out = importResources(out, sub, ctx);
  });
  return out;
}

/** One string or a list of strings; undefined for anything else. */
function strings(n: Node | undefined): string[] | undefined {
  const one = stringOf(n);
  if (one !== undefined) return [one];
  if (n?.kind !== 'seq') return undefined;
  const all = n.items.map(stringOf);
  return all.every((x) => x !== undefined) ? (all as string[]) : undefined;
}

function parseEntry(item: Node, ctx: LoadContext, i: number): Entry | undefined {
  const paths = item.kind === 'map' ? strings(item.entries.get('path')) : strings(item);
  const pd = item.kind === 'map' ? item.entries.get('project_directory') : undefined;
  const projectDirectory = stringOf(pd);
  const ef = item.kind === 'map' ? item.entries.get('env_file') : undefined;
  const envFiles = strings(ef);
  if (!paths || paths.length === 0 || (pd && projectDirectory === undefined) || (ef && !envFiles)) {
    ctx.error({
      code: 'INCLUDE',
      location: item.loc,
      path: ['include', i],
      message: 'an include entry is a file path, or a mapping with path (one or a list), project_directory and env_file',
    });
    return undefined;
  }
  return {
    paths,
    node: item,
    ...(projectDirectory !== undefined ? { projectDirectory } : {}),
    ...(envFiles ? { envFiles } : {}),
  };
}

function loadIncluded(entry: Entry, baseDir: string, env: Env, ctx: LoadContext, chain: readonly string[], root: string, i: number): MapNode | undefined {
  const files = entry.paths.map((p) => resolve(baseDir, p));
  const main = files[0]!;
  if (chain.includes(main)) {
    const cycle = [...chain.slice(chain.indexOf(main)), main].map((f) => relative(root, f) || f);
    ctx.error({
      code: 'CYCLE',
      location: entry.node.loc,
      path: ['include', i],
      message: `include cycle: ${cycle.join(' -> ')}`,
      hint: 'a file cannot include itself, directly or through others',
    });
    return undefined;
  }
  const projectDir = entry.projectDirectory ? resolve(baseDir, entry.projectDirectory) : dirname(main);
  const subEnv = includeEnv(entry, baseDir, projectDir, env, ctx);
  if (!subEnv) return undefined;
  const lookup = (k: string): string | undefined => subEnv[k];
  let model: Node | undefined;
  for (const file of files) {
    const docs = ctx.parse(file, entry.node.loc, 'included file');
    if (!docs) return undefined;
    for (const d of docs) model = mergeNodes(model, applyExtends(ctx.interpolate(d, lookup), file, projectDir, lookup, ctx));
  }
  if (model?.kind !== 'map') return undefined;
  model = applyInclude(withEntry(model, 'name', undefined), projectDir, subEnv, ctx, [...chain, main], root);
  return rebaseModel(model, projectDir);
}

/** The environment of an included application: ours, over its env files (default: its .env). */
function includeEnv(entry: Entry, baseDir: string, projectDir: string, env: Env, ctx: LoadContext): Env | undefined {
  let files: string[];
  if (!entry.envFiles) {
    const dflt = join(projectDir, '.env');
    files = pathExists(dflt) && pathStat(dflt).isFile() ? [dflt] : [];
  } else {
    files = entry.envFiles
      .filter((f) => f !== '/dev/null')
      .map((f) => {
        const abs = resolve(baseDir, f);
        return pathExists(abs) && pathStat(abs).isDirectory() ? join(abs, '.env') : abs;
      });
  }
  try {
    return { ...readEnvFiles(files, env, entry.node.loc), ...env };
  } catch (e) {
    if (!(e instanceof SpecError)) throw e;
    ctx.diagnostics.push(...e.diagnostics);
    return undefined;
  }
}

/** Adds the included resources to `model`; the same name defined differently is an error. */
function importResources(model: MapNode, sub: MapNode, ctx: LoadContext): MapNode {
  let out = model;
  for (const kind of RESOURCES) {
    const from = sub.entries.get(kind);
    if (from?.kind !== 'map') continue;
    const existing = out.entries.get(kind);
    const to = existing?.kind === 'map' ? existing : mapNode(from.loc, []);
    const entries: [string, Location, Node][] = [...to.entries].map(([k, v]) => [k, to.keys.get(k) ?? v.loc, v]);
    for (const [name, def] of from.entries) {
      const mine = to.entries.get(name);
      if (!mine) entries.push([name, from.keys.get(name) ?? def.loc, def]);
      else if (!sameValue(mine, def))
        ctx.error({
          code: 'INCLUDE_CONFLICT',
          location: to.keys.get(name) ?? mine.loc,
          path: [kind, name],
          message: `${kind}.${name} is defined here and, differently, in the included file ${formatLocation(from.keys.get(name) ?? def.loc)}`,
          hint: 'rename one of them; compose does not merge included resources',
        });
    }
    out = withEntry(out, kind, mapNode(to.loc, entries, to.tag));
  }
  return out;
}
