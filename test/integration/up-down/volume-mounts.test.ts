// Volumes with driver_opts on the real kernel, through the CLI: a tmpfs of the volume's own and
// a host folder bound on it are mounted on the volume's folder before the service starts (it
// sees them at its targets), taken off by `down` (the tmpfs's files with it, the folder's kept),
// mounted again by the next `up`, and `down -v` removes the volumes without touching the bound
// folder's files. What the kernel or the host refuses fails the `up` with the volume named.
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { describeRoot } from '../../harness/require.js';
import { volumeDataDir } from '../../../src/state/paths.js';
import { mountsAt } from '../../../src/sys/mountinfo.js';
import { rigPerTest } from './rig.js';

const rig = rigPerTest();

const APP = `  app:
    command: sleep 3600
    volumes: [scratch:/scratch, host:/host]
`;

describeRoot('volumes with driver_opts (tmpfs, bind)', () => {
  it('are mounted for the service, unmounted by down (a tmpfs empties, a folder keeps its files), mounted again by up, removed by down -v', async () => {
    const r = rig();
    mkdirSync(join(r.dir, 'data'));
    writeFileSync(join(r.dir, 'data', 'from-host'), 'host\n');
    r.spec(APP, 'volumes:\n  scratch:\n    driver_opts: {type: tmpfs, device: tmpfs, o: "size=4m,mode=0770"}\n  host:\n    driver_opts: {type: none, o: bind, device: ./data}\n');
    await r.ok(['up', '-d']);
    const scratch = volumeDataDir(r.roots, `${r.name}_scratch`);
    const host = volumeDataDir(r.roots, `${r.name}_host`);
    expect(mountsAt(scratch)).toBe(1);
    expect(mountsAt(host)).toBe(1);
    const inside = await r.ok(['exec', 'app', 'sh', '-c', 'echo made > /scratch/f && echo made > /host/from-service && stat -c %a /scratch && df -k /scratch | tail -1 && cat /host/from-host']);
    const [mode, df, fromHost] = inside.stdout.trim().split('\n');
    expect(mode).toBe('770');
    expect(Number(df?.split(/\s+/)[1])).toBe(4096); // 4 MiB, in KiB blocks
    expect(fromHost).toBe('host');
    expect(readFileSync(join(scratch, 'f'), 'utf8')).toBe('made\n'); // the host sees the service's tmpfs at the volume's folder
    expect(readFileSync(join(r.dir, 'data', 'from-service'), 'utf8')).toBe('made\n');

    await r.ok(['down']);
    expect(mountsAt(scratch)).toBe(0);
    expect(mountsAt(host)).toBe(0);
    expect(readdirSync(scratch)).toEqual([]); // the tmpfs went with its files
    expect(readdirSync(host)).toEqual([]); // the folder underneath, never written
    expect(readdirSync(join(r.dir, 'data')).sort()).toEqual(['from-host', 'from-service']);
    expect(r.leftovers(['app'])).toEqual([]);

    const again = await r.ok(['up', '-d']);
    expect(again.stderr).toMatch(/volume scratch: Creating \(its tmpfs is not mounted/);
    expect(mountsAt(scratch)).toBe(1);
    expect(existsSync(join(scratch, 'f'))).toBe(false);
    expect(readdirSync(host).sort()).toEqual(['from-host', 'from-service']);

    await r.ok(['down', '-v']);
    expect(existsSync(scratch)).toBe(false);
    expect(existsSync(host)).toBe(false);
    expect(readdirSync(join(r.dir, 'data')).sort()).toEqual(['from-host', 'from-service']);
    expect(r.leftovers(['app'])).toEqual([]);
  });

  it('a bound folder that is not there, and tmpfs options the kernel refuses, fail the up naming the volume; nothing stays mounted', async () => {
    const r = rig();
    r.spec(APP, 'volumes:\n  scratch:\n    driver_opts: {type: tmpfs, o: "size=lots"}\n  host:\n    driver_opts: {type: none, o: bind, device: ./missing}\n');
    const up = await r.stack(['up', '-d']);
    expect(up.exitCode).toBe(1);
    expect(up.stderr).toContain(`volume ${r.name}_host: ${join(r.dir, 'missing')} (driver_opts.device) is not there`);
    expect(up.stderr).toMatch(/hint: (a bind volume binds an existing host folder|tmpfs takes size=)/);
    expect(up.stderr).toContain(`volume ${r.name}_scratch: the kernel refused the tmpfs options "size=lots" (driver_opts.o)`);
    expect(up.stderr).not.toMatch(/\n\s+at /); // no stack trace
    // Nothing of the failed creations is left: no mount, no folder, no record.
    for (const v of ['scratch', 'host']) {
      expect(mountsAt(volumeDataDir(r.roots, `${r.name}_${v}`))).toBe(0);
      expect(existsSync(volumeDataDir(r.roots, `${r.name}_${v}`))).toBe(false);
    }
    const records = join(r.roots.lib, 'projects', r.name, 'volumes');
    expect(existsSync(records) ? readdirSync(records) : []).toEqual([]);
    await r.ok(['down', '-v']);
    expect(r.leftovers(['app'])).toEqual([]);
  });

  it('a bound folder reached through a symlink inside the project folder is refused, never followed', async () => {
    const r = rig();
    mkdirSync(join(r.dir, 'outside'));
    symlinkSync(join(r.dir, 'outside'), join(r.dir, 'data')); // a service that can write the project folder could do this
    r.spec(APP.replace('scratch:/scratch, ', ''), 'volumes:\n  host:\n    driver_opts: {type: none, o: "bind,ro", device: ./data/}\n');
    const up = await r.stack(['up', '-d']);
    expect(up.exitCode).toBe(1);
    expect(up.stderr).toContain(`volume ${r.name}_host: ${join(r.dir, 'data')} (driver_opts.device) crosses a symlink below ${r.dir}`);
    expect(mountsAt(volumeDataDir(r.roots, `${r.name}_host`))).toBe(0);
    await r.ok(['down', '-v']);
    expect(r.leftovers(['app'])).toEqual([]);
  });

  it('a read-only bind is read-only in the service; driver_opts given to a plain volume that holds files are refused', async () => {
    const r = rig();
    mkdirSync(join(r.dir, 'data'));
    r.spec(APP.replace('scratch:/scratch, ', ''), 'volumes:\n  host:\n    driver_opts: {type: none, o: "bind,ro", device: ./data}\n');
    await r.ok(['up', '-d']);
    const write = await r.stack(['exec', 'app', 'sh', '-c', 'echo x > /host/f']);
    expect(write.exitCode).not.toBe(0);
    expect(write.stderr).toMatch(/Read-only file system/);
    await r.ok(['down', '-v']);

    r.spec(APP.replace('scratch:/scratch, ', ''), 'volumes:\n  host: {}\n');
    await r.ok(['up', '-d']);
    await r.ok(['exec', 'app', 'sh', '-c', 'echo kept > /host/f']);
    r.spec(APP.replace('scratch:/scratch, ', ''), 'volumes:\n  host:\n    driver_opts: {type: tmpfs}\n');
    await r.ok(['down']);
    const up = await r.stack(['up', '-d']);
    expect(up.exitCode).toBe(1);
    expect(up.stderr).toContain(`volume ${r.name}_host: its driver_opts would mount over the files it holds as a plain folder`);
    expect(readFileSync(join(volumeDataDir(r.roots, `${r.name}_host`), 'f'), 'utf8')).toBe('kept\n');
    await r.ok(['down', '-v']);
    expect(r.leftovers(['app'])).toEqual([]);
  });

  it('a mount another made on the folder is never taken for the project\'s: up refuses it, down -v keeps the folder; rbind,ro makes the binds below read-only too; a removal cut off earlier is finished', async () => {
    const r = rig();
    mkdirSync(join(r.dir, 'data', 'sub'), { recursive: true });
    r.spec(APP.replace('scratch:/scratch, ', ''), 'volumes:\n  host:\n    driver_opts: {type: none, o: "rbind,ro", device: ./data}\n');
    const sub = join(r.dir, 'data', 'sub');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'stacktest', sub]);
    try {
      await r.ok(['up', '-d']);
      const write = await r.stack(['exec', 'app', 'sh', '-c', 'echo x > /host/sub/f']);
      expect(write.stderr).toMatch(/Read-only file system/);
      await r.ok(['down']);

      // Another mount on the folder (made by hand here; another project's volume of the same name).
      const folder = volumeDataDir(r.roots, `${r.name}_host`);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'stacktest', folder]);
      try {
        const up = await r.stack(['up', '-d']);
        expect(up.exitCode).toBe(1);
        expect(up.stderr).toContain(`volume ${r.name}_host: ${folder} has a mount this project did not make`);
        const down = await r.stack(['down', '-v']);
        expect(down.exitCode).toBe(1);
        expect(down.stderr).toContain('it is kept');
        expect(mountsAt(folder)).toBe(1);
      } finally {
        execFileSync('umount', [folder]);
      }
      // A removal renamed aside and never finished (a run cut off) goes with the next one.
      const left = join(folder, '..', `.removing-${r.name}_host-4242`);
      mkdirSync(join(left, 'deep'), { recursive: true });
      writeFileSync(join(left, 'deep', 'f'), 'x');
      await r.ok(['down', '-v']);
      expect(existsSync(left)).toBe(false);
      expect(existsSync(folder)).toBe(false);
    } finally {
      execFileSync('umount', [sub]);
    }
    expect(readdirSync(join(r.dir, 'data'))).toEqual(['sub']);
    expect(r.leftovers(['app'])).toEqual([]);
  });
});
