// Writes manifests: one YAML stream (`-o -`), or one file per object in a folder, named so that
// `kubectl apply -f DIR` (which reads a folder's files in name order) applies them in order.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { UserError } from '../errors.js';
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
  try {
    makeFolder(dir);
    const names = objects.map(fileName);
    const keep = new Set(names);
    for (const entry of readdirSync(dir)) {
      if (!OURS.test(entry) || keep.has(entry)) continue;
      const text = readFileSync(join(dir, entry), 'utf8');
      if (text.includes('app.kubernetes.io/managed-by: stack')) rmSync(join(dir, entry));
    }
    // A Secret carries its value: only its owner may read the file (as stack's own secrets).
    objects.forEach((o, i) => {
      const file = join(dir, names[i]!);
      if (o.kind === 'Secret') rmSync(file, { force: true });
      writeFileSync(file, renderObject(o), { mode: o.kind === 'Secret' ? 0o600 : 0o644 });
    });
    return names;
  } catch (e) {
    if (e instanceof UserError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new UserError('EXPORT_WRITE_FAILED', `cannot write the manifests into ${dir}: ${err.message}`, 'name a folder you can write to (-o DIR), or -o - for one stream on stdout');
  }
}

/** `dir` made level by level (Node's recursive mkdir loops forever on /proc/NAME). */
function makeFolder(dir: string): void {
  let kind: 'dir' | 'other' | 'none';
  try {
    kind = statSync(dir).isDirectory() ? 'dir' : 'other';
  } catch {
    kind = 'none';
  }
  if (kind === 'dir') return;
  if (kind === 'other') throw new Error(`${dir} is not a folder`);
  if (dirname(dir) !== dir) makeFolder(dirname(dir));
  mkdirSync(dir);
}
