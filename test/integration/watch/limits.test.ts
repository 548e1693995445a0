// Running out of inotify watches or instances is a clear error naming the sysctl, never a silent
// stop. The limits are lowered inside a throwaway user namespace (they are counted per user
// namespace), so the host's own limits are never touched; the watcher is the built one (dist/,
// `npm run build` first, as scripts/test.sh does).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { describeWith } from '../../harness/require.js';

const dist = fileURLToPath(new URL('../../../dist/', import.meta.url));

describeWith({ root: true, commands: ['unshare'] }, 'watch under inotify limits', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stack-inotify-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  for (let i = 0; i < 30; i++) mkdirSync(join(dir, 'tree', `d${i}`), { recursive: true });
  writeFileSync(
    join(dir, 'watch.mjs'),
    `const { watchPath } = await import(${JSON.stringify(join(dist, 'watch/watcher.js'))});
const { watchFilter } = await import(${JSON.stringify(join(dist, 'watch/filter.js'))});
try {
  const w = await watchPath(${JSON.stringify(join(dir, 'tree'))}, false, watchFilter({ ignore: [], include: [] }, [], 't'), () => {}, () => {});
  console.log('started');
  await w.close();
} catch (e) {
  console.log(e.code + ': ' + e.message);
}
`,
  );
  const underLimit = (setting: string) => {
    const r = spawnSync('unshare', ['--user', '--map-root-user', 'sh', '-c', `echo ${setting} && ${process.execPath} ${join(dir, 'watch.mjs')}`], { encoding: 'utf8' });
    return `${r.stdout}${r.stderr}`.trim();
  };

  it('a tree bigger than max_inotify_watches is refused naming fs.inotify.max_user_watches', () => {
    expect(underLimit('10 > /proc/sys/user/max_inotify_watches')).toMatch(/^WATCH_LIMIT: cannot watch .*tree: the limit of inotify watches is reached \(fs\.inotify\.max_user_watches\)$/);
  });

  it('no inotify instance left is refused naming fs.inotify.max_user_instances', () => {
    expect(underLimit('0 > /proc/sys/user/max_inotify_instances')).toMatch(/^WATCH_LIMIT: .*fs\.inotify\.max_user_instances/);
  });

  it('within the limits the same tree is watched', () => {
    expect(underLimit('1000 > /proc/sys/user/max_inotify_watches')).toBe('started');
  });
});
