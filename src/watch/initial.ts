// `initial_sync: true`: when watching starts, every file of the rule's path that the filter
// keeps and that differs from the copy in the service's volume (missing, other size or other
// bytes) is copied, so the service starts from what is on disk. The copies in the volume are
// read the way sync writes them: never through a symlink, only regular files, size-capped.
import { promises as fs } from 'node:fs';
import { posix } from 'node:path';
import type { PreparedRule } from './session.js';
import { copyInto, readInside, type Owner } from './sync.js';

/** Files larger than this are copied without comparing. */
const COMPARE_MAX_BYTES = 16 * 1024 * 1024;

async function differs(source: string, root: string, rel: string): Promise<boolean> {
  const info = await fs.lstat(source);
  if (!info.isFile()) return true; // a symlink: copied as one (cheap)
  if (info.size > COMPARE_MAX_BYTES) return true;
  const copy = await readInside(root, rel, info.size);
  if (copy === undefined || copy.length !== info.size) return true;
  return !copy.equals(await fs.readFile(source));
}

/** Copies what differs into each of the destination's folders (one per replica of an anonymous volume); resolves with the number of files copied. */
export async function initialSync(rule: PreparedRule, owner: Owner | undefined): Promise<number> {
  const dest = rule.destination;
  if (dest?.kind !== 'volume') return 0;
  let copied = 0;
  for (const root of dest.roots) copied += await syncInto(rule, root, dest.base, owner);
  return copied;
}

async function syncInto(rule: PreparedRule, root: string, base: string, owner: Owner | undefined): Promise<number> {
  if (rule.isFile) {
    if (!(await differs(rule.rule.path, root, base))) return 0;
    return (await copyInto(root, base, rule.rule.path, owner)) === 'copied' ? 1 : 0;
  }
  let copied = 0;
  const walk = async (rel: string): Promise<void> => {
    const entries = await fs.readdir(rel === '' ? rule.rule.path : posix.join(rule.rule.path, rel), { withFileTypes: true });
    for (const entry of entries) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!rule.filter.prunes(path)) await walk(path);
      } else if ((entry.isFile() || entry.isSymbolicLink()) && !rule.filter.ignores(path, false)) {
        const source = posix.join(rule.rule.path, path);
        const inVolume = posix.join(base, path);
        if (await differs(source, root, inVolume)) {
          if ((await copyInto(root, inVolume, source, owner)) === 'copied') copied++;
        }
      }
    }
  };
  await walk('');
  return copied;
}
