// Writes manifests: one YAML stream (`-o -`), or one file per object in a folder, named so that
// `kubectl apply -f DIR` (which reads a folder's files in name order) applies them in order.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { KIND_ORDER, type KubeObject } from './manifest.js';

const OPTIONS = { lineWidth: 0, aliasDuplicateObjects: false } as const;

/** One object as a YAML document. */
export function renderObject(o: KubeObject): string {
  return stringify(o, OPTIONS);
}

/** All objects as one YAML stream, `---` between documents. */
export function renderStream(objects: readonly KubeObject[]): string {
  return objects.map((o) => `---\n${renderObject(o)}`).join('');
}

/** The file of an object: `<apply rank>-<kind>-<name>.yaml`. */
export function fileName(o: KubeObject): string {
  const rank = KIND_ORDER.indexOf(o.kind);
  return `${String(rank < 0 ? 99 : rank).padStart(2, '0')}-${o.kind.toLowerCase()}-${o.metadata.name}.yaml`;
}

const OURS = /^\d\d-[a-z]+-[a-z0-9-]+\.yaml$/;

/**
 * Writes one file per object into `dir` (made when missing). Files an earlier export wrote
 * there and this one does not are removed, so `kubectl apply -f DIR` applies no stale object.
 */
export function writeFolder(dir: string, objects: readonly KubeObject[]): string[] {
  mkdirSync(dir, { recursive: true });
  const names = objects.map(fileName);
  const keep = new Set(names);
  for (const entry of readdirSync(dir)) {
    if (!OURS.test(entry) || keep.has(entry)) continue;
    const text = readFileSync(join(dir, entry), 'utf8');
    if (text.includes('app.kubernetes.io/managed-by: stack')) rmSync(join(dir, entry));
  }
  objects.forEach((o, i) => writeFileSync(join(dir, names[i]!), renderObject(o)));
  return names;
}
