// Makes the relative paths of a service absolute against the folder they were written for, as
// compose does for services taken from another folder (extends.file, include).
import { isAbsolute, resolve } from 'node:path';
import { mapNode, type MapNode, type Node } from './tree.js';

const REMOTE = /^([a-z][a-z0-9+.-]*:\/\/|git@|github\.com\/|docker-image:\/\/|service:|oci-layout:\/\/)/i;

function absPath(n: Node, dir: string, keepRemote = false): Node {
  if (n.kind !== 'scalar' || typeof n.value !== 'string' || n.value === '') return n;
  const v = n.value;
  if (isAbsolute(v) || v.startsWith('~') || (keepRemote && REMOTE.test(v))) return n;
  return { ...n, value: resolve(dir, v) };
}

function mapValues(m: MapNode, f: (k: string, v: Node) => Node): MapNode {
  return mapNode(m.loc, [...m.entries].map(([k, v]) => [k, m.keys.get(k) ?? v.loc, f(k, v)] as const), m.tag);
}

function eachItem(n: Node, f: (v: Node) => Node): Node {
  return n.kind === 'seq' ? { ...n, items: n.items.map(f) } : f(n);
}

/** A short-syntax volume `./data:/data:ro` with its source made absolute when it is a relative path. */
function volume(n: Node, dir: string): Node {
  if (n.kind === 'map') {
    const type = n.entries.get('type');
    const isBind = type?.kind === 'scalar' && type.value === 'bind';
    return isBind ? mapValues(n, (k, v) => (k === 'source' ? absPath(v, dir) : v)) : n;
  }
  if (n.kind !== 'scalar' || typeof n.value !== 'string') return n;
  const i = n.value.indexOf(':');
  if (i < 0 || !n.value.startsWith('.')) return n;
  return { ...n, value: resolve(dir, n.value.slice(0, i)) + n.value.slice(i) };
}

function build(n: Node, dir: string): Node {
  if (n.kind === 'scalar') return absPath(n, dir, true);
  if (n.kind !== 'map') return n;
  return mapValues(n, (k, v) => {
    if (k === 'context') return absPath(v, dir, true);
    if (k === 'additional_contexts' && v.kind === 'map') return mapValues(v, (_k, c) => absPath(c, dir, true));
    return v;
  });
}

function envFile(n: Node, dir: string): Node {
  return eachItem(n, (i) => (i.kind === 'map' ? mapValues(i, (k, v) => (k === 'path' ? absPath(v, dir) : v)) : absPath(i, dir)));
}

/** A service definition with build context, env_file, label_file, bind sources, watch paths and
 * extends.file resolved against `dir`. */
export function rebaseService(service: Node, dir: string): Node {
  if (service.kind !== 'map') return service;
  return mapValues(service, (k, v) => {
    switch (k) {
      case 'build':
        return build(v, dir);
      case 'env_file':
      case 'label_file':
        return envFile(v, dir);
      case 'volumes':
        return eachItem(v, (i) => volume(i, dir));
      case 'extends':
        return v.kind === 'map' ? mapValues(v, (k2, f) => (k2 === 'file' ? absPath(f, dir) : f)) : v;
      case 'develop':
        return v.kind === 'map'
          ? mapValues(v, (k2, w) =>
              k2 === 'watch' ? eachItem(w, (i) => (i.kind === 'map' ? mapValues(i, (k3, p) => (k3 === 'path' ? absPath(p, dir) : p)) : i)) : w,
            )
          : v;
      default:
        return v;
    }
  });
}

/** A whole included model with its relative paths resolved against `dir`: services, and the
 * `file` of top-level secrets and configs. */
export function rebaseModel(model: MapNode, dir: string): MapNode {
  return mapValues(model, (k, v) => {
    if (v.kind !== 'map') return v;
    if (k === 'services') return mapValues(v, (_n, s) => rebaseService(s, dir));
    if (k === 'secrets' || k === 'configs')
      return mapValues(v, (_n, d) => (d.kind === 'map' ? mapValues(d, (k2, f) => (k2 === 'file' ? absPath(f, dir) : f)) : d));
    return v;
  });
}
