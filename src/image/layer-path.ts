// The names inside a layer tarball, checked before anything touches the disk: a name is a
// path relative to the layer root, never absolute, never with a `..` component. Pure.

/** A layer entry's name split into components (`[]` is the layer root), or why it is refused. */
export type LayerPath = { ok: true; components: string[] } | { ok: false; reason: string };

/** Splits `name` into safe components: `./a//b/` → `['a', 'b']`; `/x`, `a/../b`, NUL refused. */
export function layerPath(name: string): LayerPath {
  if (name.includes('\0')) return { ok: false, reason: 'a NUL byte in the name' };
  if (name.startsWith('/')) return { ok: false, reason: 'an absolute path' };
  const components: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') return { ok: false, reason: 'a ".." component' };
    components.push(c);
  }
  return { ok: true, components };
}

/** Prefix of an AUFS/OCI whiteout file: `.wh.NAME` hides NAME of the layers below. */
export const WHITEOUT_PREFIX = '.wh.';
/** The opaque-directory marker: the directory's content in the layers below is hidden. */
export const WHITEOUT_OPAQUE = '.wh..wh..opq';

/** What a layer entry's base name means: an ordinary entry, a whiteout of `name`, an opaque marker, or another AUFS meta file. */
export function whiteoutKind(
  base: string,
): { kind: 'plain' } | { kind: 'whiteout'; name: string } | { kind: 'opaque' } | { kind: 'meta' } {
  if (!base.startsWith(WHITEOUT_PREFIX)) return { kind: 'plain' };
  if (base === WHITEOUT_OPAQUE) return { kind: 'opaque' };
  if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) return { kind: 'meta' };
  return { kind: 'whiteout', name: base.slice(WHITEOUT_PREFIX.length) };
}
