// Merges one spec tree over another by the compose-spec merge rules: mappings merge key by key,
// sequences append (unique resources such as ports, volumes and secrets are kept once, the later
// one winning), commands are replaced, environment and labels merge as maps whatever their
// syntax, and `!reset` / `!override` drop or replace what is below them.
import type { Location } from './raw.js';
import { mapNode, untagged, type MapNode, type Node, type ScalarNode, type SeqNode } from './tree.js';

type Path = readonly string[];
/** A special rule; `base` is clean, `over` may still carry merge tags. */
type Merger = (base: Node, over: Node, path: Path) => Node;

/** Merges `over` onto `base` (either may be absent); undefined means "nothing left" (`!reset`). */
export function mergeNodes(base: Node | undefined, over: Node | undefined, path: Path = []): Node | undefined {
  if (!over) return base;
  if (over.tag === 'reset') return undefined;
  if (!base || over.tag === 'override') return clean(over);
  // An empty value changes nothing (compose); `!reset` is how an override removes something.
  if (over.kind === 'scalar' && over.value === null) return base;
  const special = SPECIALS.find(([p]) => matches(path, p));
  if (special) return special[1](clean(base), over, path);
  if (base.kind === 'map' && over.kind === 'map') return mergeMaps(base, over, path);
  if (base.kind === 'seq' && over.kind === 'seq') return appendUnique(base, clean(over) as SeqNode, path);
  return clean(over);
}

/** A tree with its merge tags applied against nothing: `!reset` entries removed, tags dropped. */
export function clean(n: Node): Node {
  if (n.kind === 'map') {
    const entries: [string, Location, Node][] = [];
    for (const [k, v] of n.entries) if (v.tag !== 'reset') entries.push([k, n.keys.get(k) ?? v.loc, clean(v)]);
    return mapNode(n.loc, entries);
  }
  if (n.kind === 'seq') return { kind: 'seq', loc: n.loc, items: n.items.filter((i) => i.tag !== 'reset').map(clean) };
  return untagged(n);
}

function mergeMaps(base: MapNode, over: MapNode, path: Path, nullsWin = false): MapNode {
  const entries = new Map<string, [Location, Node]>();
  for (const [k, v] of base.entries) entries.set(k, [base.keys.get(k) ?? v.loc, v]);
  for (const [k, v] of over.entries) {
    const kloc = over.keys.get(k) ?? v.loc;
    const prev = entries.get(k)?.[1];
    if (v.tag === 'reset') {
      entries.delete(k);
      continue;
    }
    let merged: Node | undefined;
    if (k.startsWith('x-') || (nullsWin && v.kind === 'scalar')) merged = clean(v);
    else merged = mergeNodes(prev, v, [...path, k]);
    if (merged) entries.set(k, [kloc, merged]);
  }
  return mapNode(over.loc, [...entries].map(([k, [l, v]]) => [k, l, v] as const));
}

// ---- sequences and their identity keys -------------------------------------------------------

type Indexer = (item: Node) => string | undefined;

const scalarText = (n: Node): string | undefined =>
  n.kind === 'scalar' && n.value !== null ? String(n.value) : undefined;
const field = (n: Node, k: string): Node | undefined => (n.kind === 'map' ? n.entries.get(k) : undefined);

const byValue: Indexer = (n) => scalarText(n);
const byKey: Indexer = (n) => scalarText(n)?.split('=')[0];
const byTarget: Indexer = (n) => {
  if (n.kind === 'map') return scalarText(field(n, 'target') ?? n);
  const s = scalarText(n);
  if (s === undefined) return undefined;
  const parts = s.split(':');
  return parts.length === 1 ? parts[0] : parts[1];
};
const byPort: Indexer = (n) => {
  if (n.kind !== 'map') return scalarText(n);
  const get = (k: string, d: string): string => (field(n, k) && scalarText(field(n, k)!)) ?? d;
  return `${get('host_ip', '0.0.0.0')}:${get('published', '')}:${get('target', '')}/${get('protocol', 'tcp')}`;
};
const byMount =
  (dir: string): Indexer =>
  (n) => {
    if (n.kind !== 'map') return scalarText(n) === undefined ? undefined : `${dir}/${scalarText(n)}`;
    const t = field(n, 'target');
    if (t) return scalarText(t);
    const s = field(n, 'source');
    return s ? `${dir}/${scalarText(s)}` : undefined;
  };
const byPath: Indexer = (n) => scalarText(n.kind === 'map' ? (field(n, 'path') ?? n) : n);

const UNIQUE: [string, Indexer][] = [
  ['services.*.ports', byPort],
  ['services.*.expose', byValue],
  ['services.*.volumes', byTarget],
  ['services.*.devices', byTarget],
  ['services.*.secrets', byMount('/run/secrets')],
  ['services.*.configs', byMount('')],
  ['services.*.env_file', byPath],
  ['services.*.label_file', byPath],
  ['services.*.cap_add', byValue],
  ['services.*.cap_drop', byValue],
  ['services.*.profiles', byValue],
  ['services.*.links', byValue],
  ['services.*.dns', byValue],
  ['services.*.dns_opt', byValue],
  ['services.*.dns_search', byValue],
  ['services.*.tmpfs', byValue],
  ['services.*.security_opt', byValue],
  ['services.*.networks.*.aliases', byValue],
  ['services.*.networks.*.link_local_ips', byValue],
  ['services.*.build.tags', byValue],
  ['services.*.build.platforms', byValue],
  ['services.*.develop.watch', (n) => (n.kind === 'map' ? `${byPath(n)}|${scalarText(field(n, 'action') ?? n)}` : undefined)],
];

/** Appends `over` to `base`; for unique resources an item with the same key takes the earlier
 * one's place (merged into it when both are mappings). */
function appendUnique(base: SeqNode, over: SeqNode, path: Path): SeqNode {
  const indexer = UNIQUE.find(([p]) => matches(path, p))?.[1];
  return { kind: 'seq', loc: over.loc, items: unique([...base.items, ...over.items], indexer) };
}

function unique(items: readonly Node[], indexer: Indexer | undefined): Node[] {
  if (!indexer) return [...items];
  const out: Node[] = [];
  const at = new Map<string, number>();
  for (const item of items) {
    const key = indexer(item);
    const i = key === undefined ? undefined : at.get(key);
    if (i !== undefined) {
      // Entries sharing a unique key merge (compose-spec); a short-syntax one replaces.
      const prev = out[i]!;
      out[i] = prev.kind === 'map' && item.kind === 'map' ? mergeMaps(prev, item, []) : item;
    } else {
      if (key !== undefined) at.set(key, out.length);
      out.push(item);
    }
  }
  return out;
}

// ---- special cases --------------------------------------------------------------------------

const replace: Merger = (_base, over) => clean(over);

/** environment, labels, args...: a map when both sides are maps, else `KEY=VALUE` items, one per key. */
const keyValues: Merger = (base, over, path) => {
  if (base.kind === 'map' && over.kind === 'map') return mergeMaps(base, over, path, true);
  const reset = new Set(over.kind === 'map' ? [...over.entries].filter(([, v]) => v.tag === 'reset').map(([k]) => k) : []);
  const kept = asKeyValueItems(base).filter((i) => !reset.has(byKey(i) ?? ''));
  const items = unique([...kept, ...asKeyValueItems(clean(over))], byKey);
  return { kind: 'seq', loc: over.loc, items };
};

function asKeyValueItems(n: Node): Node[] {
  if (n.kind === 'seq') return [...n.items];
  if (n.kind === 'scalar') return n.value === null ? [] : [n];
  return [...n.entries]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]): ScalarNode => {
      const value =
        v.kind !== 'scalar' ? `${k}=${JSON.stringify(v)}` : v.value === null ? k : `${k}=${String(v.value)}`;
      return { kind: 'scalar', value, loc: v.loc };
    });
}

/** extra_hosts: maps merge; otherwise both lists joined without exact repeats. */
const extraHosts: Merger = (base, over0, path) => {
  if (base.kind === 'map' && over0.kind === 'map') return mergeMaps(base, over0, path, true);
  const over = clean(over0);
  const items = [...asKeyValueItems(base)];
  const seen = new Set(items.map(scalarText));
  for (const i of asKeyValueItems(over)) if (!seen.has(scalarText(i))) items.push(i);
  return { kind: 'seq', loc: over.loc, items };
};

/** A list of names as a map of name → `value` (depends_on, networks). */
function namesToMap(n: Node, value: (loc: Location) => Node): Node {
  if (n.kind !== 'seq') return n;
  return mapNode(
    n.loc,
    n.items.flatMap((i) => {
      const name = scalarText(i);
      return name === undefined ? [] : [[name, i.loc, value(i.loc)] as const];
    }),
  );
}

const nullNode = (loc: Location): Node => ({ kind: 'scalar', value: null, loc });
const startedNode = (loc: Location): Node =>
  mapNode(loc, [
    ['condition', loc, { kind: 'scalar', value: 'service_started', loc }],
    ['required', loc, { kind: 'scalar', value: true, loc }],
  ]);

const asMaps =
  (value: (loc: Location) => Node): Merger =>
  (base, over, path) => {
    const b = namesToMap(base, value);
    const o = namesToMap(over.kind === 'seq' ? clean(over) : over, value);
    return b.kind === 'map' && o.kind === 'map' ? mergeMaps(b, o, path) : clean(o);
  };

/** build: a string is the context. */
const build: Merger = (base, over0, path) => {
  const over = over0.kind === 'map' ? over0 : clean(over0);
  const asMap = (n: Node): Node =>
    n.kind === 'scalar' && typeof n.value === 'string' ? mapNode(n.loc, [['context', n.loc, n]]) : n;
  if (base.kind === 'scalar' && over.kind === 'scalar') return over;
  const b = asMap(base);
  const o = asMap(over);
  return b.kind === 'map' && o.kind === 'map' ? mergeMaps(b, o, path) : clean(o);
};

/** logging: a different driver replaces the whole block. */
const logging: Merger = (base, over, path) => {
  if (base.kind !== 'map' || over.kind !== 'map') return clean(over);
  const bd = scalarText(field(base, 'driver') ?? base);
  const od = scalarText(field(over, 'driver') ?? over);
  if (field(base, 'driver') && field(over, 'driver') && bd !== od) return clean(over);
  return mergeMaps(base, over, path);
};

/** ipam.config: entries with the same subnet merge. */
const ipamConfig: Merger = (base, over0, path) => {
  const over = clean(over0);
  if (base.kind !== 'seq' || over.kind !== 'seq') return over;
  const items = [...base.items];
  for (const o of over.items) {
    const subnet = scalarText(field(o, 'subnet') ?? o);
    const i = items.findIndex((b) => subnet !== undefined && scalarText(field(b, 'subnet') ?? b) === subnet);
    if (i >= 0) items[i] = mergeNodes(items[i], o, [...path, '*']) ?? o;
    else items.push(o);
  }
  return { kind: 'seq', loc: over.loc, items };
};

/** One sequence of a single string (dns: 8.8.8.8) or a list, appended and kept unique. */
const toSequence: Merger = (base, over, path) => {
  const seq = (n: Node): SeqNode => (n.kind === 'seq' ? n : { kind: 'seq', loc: n.loc, items: n.kind === 'scalar' && n.value === null ? [] : [n] });
  return appendUnique(seq(base), seq(clean(over)), path);
};

const SPECIALS: [string, Merger][] = [
  ['services.*.command', replace],
  ['services.*.entrypoint', replace],
  ['services.*.healthcheck.test', replace],
  ['services.*.environment', keyValues],
  ['services.*.labels', keyValues],
  ['services.*.annotations', keyValues],
  ['services.*.sysctls', keyValues],
  ['services.*.deploy.labels', keyValues],
  ['services.*.build.args', keyValues],
  ['services.*.build.labels', keyValues],
  ['services.*.build.additional_contexts', keyValues],
  ['networks.*.labels', keyValues],
  ['volumes.*.labels', keyValues],
  ['services.*.extra_hosts', extraHosts],
  ['services.*.build.extra_hosts', extraHosts],
  ['services.*.depends_on', asMaps(startedNode)],
  ['services.*.networks', asMaps(nullNode)],
  ['services.*.build', build],
  ['services.*.logging', logging],
  ['networks.*.ipam.config', ipamConfig],
  ['services.*.dns', toSequence],
  ['services.*.dns_search', toSequence],
  ['services.*.dns_opt', toSequence],
  ['services.*.tmpfs', toSequence],
  ['services.*.env_file', toSequence],
];

function matches(path: Path, pattern: string): boolean {
  const p = pattern.split('.');
  return p.length === path.length && p.every((seg, i) => seg === '*' || seg === path[i]);
}
