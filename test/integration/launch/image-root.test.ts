// An image service's root (native/launcher/image.h): layers unpacked by src/image/unpack.ts from
// tars built here, under overlayfs with the service's own upper or none. The service sees the
// top layer's files (a whiteout hides the lower's), writes its /run and /tmp into its upper,
// sees nothing of the host's, gets its /etc/hosts from the name file; without an upper a write
// fails with EROFS; 130 layers mount. Real kernel, root, busybox from the host.
import { randomBytes, createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { unpackLayer } from '../../../src/image/unpack.js';
import type { ServiceView } from '../../../src/runtime/view.js';
import { describeWith } from '../../harness/require.js';
import { makeTar, type TarEntry } from '../../harness/tar.js';
import { testService } from '../../fixtures/launch/service.js';
import { buildLauncher, LaunchRig } from './harness.js';

type Entry = TarEntry;

const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'cat', 'ls', 'id', 'touch', 'test', 'echo'];
const dir = (name: string, mode = 0o755, uid = 0): Entry => ({ header: { name, type: 'directory', mode, uid, gid: uid } });

describeWith({ root: true, commands: ['busybox'] }, 'launch: an image service\'s overlayfs root', () => {
  const rig = new LaunchRig();
  const tag = `stkimg${randomBytes(4).toString('hex')}`;
  let layersDir: string;
  let files: { hosts: string; hostname: string; resolvConf: string };
  let base: string;
  let top: string;
  let count = 0;

  /** Unpacks `entries` as one uncompressed layer; returns its folder. */
  async function layer(entries: Entry[]): Promise<string> {
    const t = await makeTar(entries, { mode: 0o644 });
    const digest = `sha256:${createHash('sha256').update(t).digest('hex')}`;
    const target = join(layersDir, `l${++count}`);
    await unpackLayer(Readable.from([t]), { dir: target, mediaType: 'application/vnd.oci.image.layer.v1.tar', digest, diffId: digest });
    return target;
  }

  /** A fresh upper and work folder on one filesystem. */
  function upperDirs(): { upper: string; work: string } {
    const u = join(rig.dir, `upper${++count}`);
    mkdirSync(join(u, 'upper'), { recursive: true, mode: 0o755 });
    mkdirSync(join(u, 'work'), { mode: 0o700 });
    return { upper: join(u, 'upper'), work: join(u, 'work') };
  }

  /** Runs `script` under the image's /bin/sh with `image` as its root. */
  async function inImage(script: string, image: NonNullable<ServiceView['image']>) {
    const view: ServiceView = { etcFiles: files, mounts: [], image };
    return rig.run(testService({ command: ['/bin/sh', '-c', script], environment: { PATH: '/bin' } }), { view });
  }

  beforeAll(async () => {
    buildLauncher();
    layersDir = join(rig.dir, 'layers');
    mkdirSync(layersDir, { mode: 0o700 });
    files = { hosts: join(rig.dir, 'hosts'), hostname: join(rig.dir, 'hostname'), resolvConf: join(rig.dir, 'resolv.conf') };
    writeFileSync(files.hosts, `127.0.0.1\tlocalhost\n10.9.8.7\tdb ${tag}\n`);
    writeFileSync(files.hostname, `${tag}\n`);
    writeFileSync(files.resolvConf, 'nameserver 10.9.8.1\n');
    base = await layer([
      dir('bin/'),
      { header: { name: 'bin/busybox', mode: 0o755 }, body: readFileSync(BUSYBOX) },
      ...APPLETS.map((a): Entry => ({ header: { name: `bin/${a}`, type: 'symlink', linkname: 'busybox' } })),
      dir('etc/'),
      { header: { name: 'etc/passwd' }, body: 'root:x:0:0:root:/root:/bin/sh\napp:x:1234:1234::/home/app:/bin/sh\n' },
      { header: { name: 'etc/hosts' }, body: '127.0.0.1\timage-own-hosts\n' },
      { header: { name: 'etc/keep' }, body: 'layer one\n' },
      { header: { name: 'etc/gone' }, body: 'whited out\n' },
      dir('run/'),
      dir('run/app/', 0o755, 1234),
      dir('tmp/', 0o1777),
    ]);
    top = await layer([dir('etc/'), { header: { name: 'etc/keep' }, body: 'layer two\n' }, { header: { name: 'etc/.wh.gone' } }]);
  }, 60_000);

  afterAll(async () => {
    const leaked = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.includes('.stack-image') || l.includes('.stack-points') || l.includes(rig.dir));
    await rig.cleanup();
    expect(leaked).toEqual([]);
  });

  it('shows the top layer over the lower, writes into its own upper and sees nothing of the host', async () => {
    const upper = upperDirs();
    const script = [
      'cat /etc/keep',
      'test -e /etc/gone && echo gone-present || echo gone-absent',
      'echo x > /run/app/x && echo y > /tmp/y && echo wrote',
      'test -e /etc/debian_version && echo host-debian || echo no-debian',
      'test -e /usr/bin/node && echo host-node || echo no-node',
      'cat /etc/hosts',
      'cat /etc/hostname',
      'test -c /dev/null && echo dev-null',
      'test -e /proc/self/status && echo proc',
      'id -u app',
    ].join('; ');
    const { record, lines } = await inImage(script, { layers: [base, top], upper });
    expect(record.exitCode).toBe(0);
    expect(lines).toEqual(['layer two', 'gone-absent', 'wrote', 'no-debian', 'no-node', '127.0.0.1\tlocalhost', `10.9.8.7\tdb ${tag}`, tag, 'dev-null', 'proc', '1234']);
    // What it wrote is in the upper, and only that (the mount points are not).
    expect(readFileSync(join(upper.upper, 'run/app/x'), 'utf8')).toBe('x\n');
    expect(readFileSync(join(upper.upper, 'tmp/y'), 'utf8')).toBe('y\n');
    expect(readdirSync(upper.upper).sort()).toEqual(['run', 'tmp']);
    // The layers are untouched.
    expect(existsSync(join(base, 'run/app/x'))).toBe(false);
    expect(readFileSync(join(base, 'etc/keep'), 'utf8')).toBe('layer one\n');
  });

  it('without an upper the root is read-only: a write fails with EROFS', async () => {
    const { record, lines } = await inImage('cat /etc/keep; touch /run/app/x 2>&1; echo rc=$?', { layers: [base, top] });
    expect(record.exitCode).toBe(0);
    expect(lines[0]).toBe('layer two');
    expect(lines[1]).toMatch(/Read-only file system/);
    expect(lines[2]).toBe('rc=1');
    expect(existsSync(join(base, 'run/app/x'))).toBe(false);
  });

  it('mounts an image of 130 layers', async () => {
    const layers = [base];
    for (let i = 1; i < 130; i++) layers.push(await layer([dir('many/'), { header: { name: `many/f${i}` }, body: `${i}\n` }]));
    const { record, lines } = await inImage('ls /many; cat /many/f129', { layers, upper: upperDirs() });
    expect(record.exitCode).toBe(0);
    expect(lines.length).toBe(130);
    expect(lines.slice(0, 129).sort()).toEqual(Array.from({ length: 129 }, (_, i) => `f${i + 1}`).sort());
    expect(lines[129]).toBe('129');
  }, 120_000);
});
