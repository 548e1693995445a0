// The document as a tree of nodes that remember where they were written. Loading works on this
// tree (interpolate, extends, include, merge) so every value keeps its file:line:col to the end.
import type { KeyPath, Location } from './raw.js';

/** A YAML scalar after YAML 1.2 core resolution. */
export type Scalar = string | number | boolean | null;

/** `!reset` drops the value (and what it overrides); `!override` replaces instead of merging. */
export type MergeTag = 'reset' | 'override';

interface NodeBase {
  readonly loc: Location;
  readonly tag?: MergeTag;
}

/** A mapping; `keys` holds where each key was written (for diagnostics about the key itself). */
export interface MapNode extends NodeBase {
  readonly kind: 'map';
  readonly entries: ReadonlyMap<string, Node>;
  readonly keys: ReadonlyMap<string, Location>;
}

/** A sequence, items in order. */
export interface SeqNode extends NodeBase {
  readonly kind: 'seq';
  readonly items: readonly Node[];
}

/** `textOffset` is set when the source text holds the value verbatim on one line: the value's
 * first character is at column `loc.col + textOffset` (0 plain, 1 quoted). */
export interface ScalarNode extends NodeBase {
  readonly kind: 'scalar';
  readonly value: Scalar;
  readonly textOffset?: number;
}

/** Any node of the document tree. */
export type Node = MapNode | SeqNode | ScalarNode;

/** Builds a mapping node from entries (key → [key location, value]). */
export function mapNode(
  loc: Location,
  entries: Iterable<readonly [string, Location, Node]>,
  tag?: MergeTag,
): MapNode {
  const values = new Map<string, Node>();
  const keys = new Map<string, Location>();
  for (const [k, kloc, v] of entries) {
    values.set(k, v);
    keys.set(k, kloc);
  }
  return tag ? { kind: 'map', loc, entries: values, keys, tag } : { kind: 'map', loc, entries: values, keys };
}

/** Iterates a mapping as [key, key location, value]. */
export function* mapEntries(m: MapNode): Generator<[string, Location, Node]> {
  for (const [k, v] of m.entries) yield [k, m.keys.get(k) ?? v.loc, v];
}

/** A copy of a mapping with one entry set (added at the end when new) or removed (value undefined). */
export function withEntry(m: MapNode, key: string, value: Node | undefined, keyLoc?: Location): MapNode {
  const out: [string, Location, Node][] = [];
  let seen = false;
  for (const [k, kl, v] of mapEntries(m)) {
    if (k !== key) out.push([k, kl, v]);
    else if (value) {
      seen = true;
      out.push([k, keyLoc ?? kl, value]);
    }
  }
  if (value && !seen) out.push([key, keyLoc ?? value.loc, value]);
  return mapNode(m.loc, out, m.tag);
}

/** A node without its merge tag (once merged, the tag has done its work). */
export function untagged<N extends Node>(n: N): N {
  if (!n.tag) return n;
  const { tag: _tag, ...rest } = n;
  return rest as unknown as N;
}

/** The child at one path segment, if any. */
export function child(n: Node | undefined, seg: string | number): Node | undefined {
  if (!n) return undefined;
  if (n.kind === 'map') return n.entries.get(String(seg));
  if (n.kind === 'seq' && typeof seg === 'number') return n.items[seg];
  return undefined;
}

/** The node at a path, if any. */
export function nodeAt(root: Node, path: KeyPath): Node | undefined {
  let n: Node | undefined = root;
  for (const seg of path) n = child(n, seg);
  return n;
}

/** Where the value at `path` was written, else the nearest ancestor's place. */
export function locateIn(root: Node, path: KeyPath): Location {
  let n: Node = root;
  for (const seg of path) {
    const c = child(n, seg);
    if (!c) break;
    n = c;
  }
  return n.loc;
}

/** Where the key at the end of `path` was written, else the value's or nearest ancestor's place. */
export function locateKeyIn(root: Node, path: KeyPath): Location {
  const parent = path.length ? nodeAt(root, path.slice(0, -1)) : undefined;
  const last = path[path.length - 1];
  if (parent?.kind === 'map' && last !== undefined) {
    const kl = parent.keys.get(String(last));
    if (kl) return kl;
  }
  return locateIn(root, path);
}

/** The plain JSON-like value of a node (merge tags are dropped). */
export function toPlain(n: Node): unknown {
  switch (n.kind) {
    case 'scalar':
      return n.value;
    case 'seq':
      return n.items.map(toPlain);
    case 'map':
      return Object.fromEntries([...n.entries].map(([k, v]) => [k, toPlain(v)]));
  }
}

/** Structural equality of two nodes' values (places ignored). */
export function sameValue(a: Node, b: Node): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'scalar') return a.value === (b as ScalarNode).value;
  if (a.kind === 'seq') {
    const bi = (b as SeqNode).items;
    return a.items.length === bi.length && a.items.every((x, i) => sameValue(x, bi[i]!));
  }
  const be = (b as MapNode).entries;
  if (a.entries.size !== be.size) return false;
  for (const [k, v] of a.entries) {
    const o = be.get(k);
    if (!o || !sameValue(v, o)) return false;
  }
  return true;
}

/** The string held by a scalar node, if that is what `n` is. */
export function stringOf(n: Node | undefined): string | undefined {
  return n?.kind === 'scalar' && typeof n.value === 'string' ? n.value : undefined;
}

/** A string scalar at a place. */
export function str(value: string, loc: Location): ScalarNode {
  return { kind: 'scalar', value, loc };
}
