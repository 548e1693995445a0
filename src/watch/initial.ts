// `initial_sync: true`: when watching starts, every file of the rule's path that the filter
// keeps and that differs from the copy in the service's volume (missing, other size or other
// bytes) is copied, so the service starts from what is on disk.
import { promises as fs } from 'node:fs';
import { posix } from 'node:path';
import type { PreparedRule } from './session.js';
import { copyInto, type Owner } from './sync.js';

async function differs(source: string, copy: string): Promise<boolean> {
  const [a, b] = await Promise.all([fs.lstat(source), fs.lstat(copy).catch(() => undefined)]);
  if (!b || !b.isFile() || a.size !== b.size) return true;
  const [x, y] = await Promise.all([fs.readFile(source), fs.readFile(copy)]);
  return !x.equals(y);
}

/** Copies what differs; resolves with the number of files copied. */
export async function initialSync(rule: PreparedRule, owner: Owner | undefined): Promise<number> {
  const dest = rule.destination;
  if (dest?.kind !== 'volume') return 0;
  if (rule.isFile) {
    const name = posix.basename(rule.rule.target ?? rule.rule.path);
    const dir = posix.dirname(dest.hostDir);
    if (!(await differs(rule.rule.path, posix.join(dir, name)))) return 0;
    await copyInto(dir, name, rule.rule.path, owner);
    return 1;
  }
  let copied = 0;
  const walk = async (rel: string): Promise<void> => {
    const entries = await fs.readdir(rel === '' ? rule.rule.path : posix.join(rule.rule.path, rel), { withFileTypes: true });
    for (const entry of entries) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!rule.filter.prunes(path)) await walk(path);
      } else if (entry.isFile() && !rule.filter.ignores(path, false)) {
        if (await differs(posix.join(rule.rule.path, path), posix.join(dest.hostDir, path))) {
          await copyInto(dest.hostDir, path, posix.join(rule.rule.path, path), owner);
          copied++;
        }
      }
    }
  };
  await walk('');
  return copied;
}
