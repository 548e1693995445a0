// volumes_from through the real CLI: another service's named and anonymous volumes and binds
// (not its tmpfs) mounted at the same targets, read-only with `:ro`, writable otherwise, the
// very same folders (a write shows on the other side); the owner starts first.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeRoot } from '../../harness/require.js';
import { rigPerTest, type Rig } from '../up-down/rig.js';

const rig = rigPerTest();

const run = (r: Rig, service: string, script: string) => r.stack(['exec', '-T', service, 'sh', '-c', script]);

describeRoot('volumes_from through the CLI', () => {
  it('mounts the other service\'s volumes and binds, read-only with :ro; not its tmpfs', async () => {
    const r = rig();
    mkdirSync(join(r.dir, 'bind'));
    writeFileSync(join(r.dir, 'bind', 'host.txt'), 'from the host\n');
    r.spec(
      `  data:
    command: sleep 3600
    volumes: ["named:/named", "/anon", "./bind:/bind"]
    tmpfs: [/scratch]
  reader:
    command: sleep 3600
    volumes_from: ["data:ro"]
  writer:
    command: sleep 3600
    volumes_from: ["service:data"]
`,
      'volumes:\n  named: {}\n',
    );
    await r.ok(['up', '-d', '--progress', 'quiet']);
    expect((await run(r, 'data', 'echo named > /named/f && echo anon > /anon/f')).exitCode).toBe(0);
    expect((await run(r, 'reader', 'cat /named/f /anon/f /bind/host.txt')).stdout).toBe('named\nanon\nfrom the host');
    const refused = await run(r, 'reader', 'echo x > /named/g');
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toMatch(/Read-only file system/);
    expect((await run(r, 'writer', 'echo from-writer > /anon/w')).exitCode).toBe(0);
    expect((await run(r, 'data', 'cat /anon/w')).stdout).toBe('from-writer');
    // The tmpfs of data is its own: the others have no /scratch mount.
    expect((await run(r, 'writer', 'grep -c " /scratch " /proc/mounts || true')).stdout.trim()).toBe('0');
    await r.ok(['down', '-v', '--timeout', '0']);
    expect(r.leftovers(['data', 'reader', 'writer'])).toEqual([]);
  });
});
