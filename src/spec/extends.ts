// `extends` as compose resolves it: a service starts from another service (same file, or
// `file:` + `service:` in another file, whose relative paths are rebased), merged by the usual
// rules; chains resolve recursively and a cycle is an error that names it.
import { basename, dirname, resolve } from 'node:path';
import type { Lookup } from './interpolate.js';
import { mergeNodes } from './merge.js';
import { rebaseService } from './rebase.js';
import type { LoadContext } from './source.js';
import { mapNode, stringOf, withEntry, type MapNode, type Node } from './tree.js';

interface Scope {
  readonly file: string;
  /** Folder that relative paths of this scope are written against. */
  readonly baseDir: string;
  readonly services: MapNode;
}

/** Resolves every `extends` of the services of one document of `file`. */
export function applyExtends(model: MapNode, file: string, baseDir: string, lookup: Lookup, ctx: LoadContext): MapNode {
  const services = model.entries.get('services');
  if (services?.kind !== 'map' || ![...services.entries.values()].some(hasExtends)) return model;
  const resolver = new ExtendsResolver(lookup, ctx);
  const scope: Scope = { file, baseDir, services };
  const out = [...services.entries].map(([name, svc]) => {
    return [name, services.keys.get(name) ?? svc.loc, resolver.service(scope, name, []) ?? svc] as const;
  });
  return withEntry(model, 'services', mapNode(services.loc, out, services.tag));
}

function hasExtends(n: Node): boolean {
  return n.kind === 'map' && n.entries.has('extends');
}

class ExtendsResolver {
  private readonly done = new Map<string, Node | undefined>();
  private readonly files = new Map<string, Scope | undefined>();

  constructor(
    private readonly lookup: Lookup,
    private readonly ctx: LoadContext,
  ) {}

  /** The service `name` of `scope` with its extends chain applied; `chain` holds the ids being
   * resolved (for cycles). */
  service(scope: Scope, name: string, chain: readonly string[]): Node | undefined {
    const id = `${scope.file}\0${name}`;
    if (this.done.has(id)) return this.done.get(id);
    const svc = scope.services.entries.get(name);
    if (!svc || svc.kind !== 'map' || !svc.entries.has('extends')) return svc;
    const result = this.extend(scope, name, svc, [...chain, id]);
    this.done.set(id, result);
    return result;
  }

  private extend(scope: Scope, name: string, svc: MapNode, chain: readonly string[]): Node {
    const ext = svc.entries.get('extends')!;
    const own = withEntry(svc, 'extends', undefined);
    const ref = this.reference(ext, name);
    if (!ref) return own;
    let target = scope;
    if (ref.file !== undefined) {
      const t = this.fileScope(resolve(scope.baseDir, ref.file), ext);
      if (!t) return own;
      target = t;
    }
    const where = target === scope ? 'this file' : target.file;
    if (!target.services.entries.has(ref.service)) {
      this.ctx.error({
        code: 'EXTENDS',
        location: ext.loc,
        path: ['services', name, 'extends'],
        message: `service ${name} extends ${ref.service}, which is not a service of ${where}`,
        hint: `services there: ${[...target.services.entries.keys()].join(', ') || '(none)'}`,
      });
      return own;
    }
    const id = `${target.file}\0${ref.service}`;
    if (chain.includes(id)) {
      const cycle = [...chain.slice(chain.indexOf(id)), id];
      const multi = new Set(cycle.map((c) => c.split('\0')[0])).size > 1;
      const label = (c: string): string => {
        const [f, s] = c.split('\0') as [string, string];
        return multi ? `${s} (${basename(f)})` : s;
      };
      this.ctx.error({
        code: 'CYCLE',
        location: ext.loc,
        path: ['services', name, 'extends'],
        message: `extends cycle: ${cycle.map(label).join(' -> ')}`,
        hint: 'a service cannot extend itself, directly or through others',
      });
      return own;
    }
    let base = this.service(target, ref.service, chain);
    if (!base || base.kind !== 'map') return own;
    if (target !== scope) base = rebaseService(base, target.baseDir);
    return mergeNodes(base, own, ['services', name]) ?? own;
  }

  private reference(ext: Node, name: string): { service: string; file?: string } | undefined {
    const short = stringOf(ext);
    if (short !== undefined) return { service: short };
    if (ext.kind === 'map') {
      const service = stringOf(ext.entries.get('service'));
      const file = stringOf(ext.entries.get('file'));
      if (service !== undefined && (file !== undefined || !ext.entries.has('file')))
        return file !== undefined ? { service, file } : { service };
    }
    this.ctx.error({
      code: 'EXTENDS',
      location: ext.loc,
      path: ['services', name, 'extends'],
      message: 'extends takes a service name, or a mapping with `service:` and an optional `file:`',
    });
    return undefined;
  }

  private fileScope(file: string, ext: Node): Scope | undefined {
    if (this.files.has(file)) return this.files.get(file);
    let scope: Scope | undefined;
    const docs = this.ctx.parse(file, ext.loc, 'extends file');
    if (docs) {
      let model: Node | undefined;
      for (const d of docs) model = mergeNodes(model, this.ctx.interpolate(d, this.lookup));
      const services = model?.kind === 'map' ? model.entries.get('services') : undefined;
      if (services?.kind === 'map') scope = { file, baseDir: dirname(file), services };
      else
        this.ctx.error({
          code: 'EXTENDS',
          location: ext.loc,
          message: `the extends file ${file} has no services`,
        });
    }
    this.files.set(file, scope);
    return scope;
  }
}
