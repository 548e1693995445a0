// `up` of image services through the real CLI (bin/stack.cjs over dist/: `npm run build` first)
// against a real docker-registry on 127.0.0.1, with images made by hand from the host's static
// busybox: up pulls what is missing, runs the image's Entrypoint/Cmd as the image's own user
// (a name only the image's /etc/passwd knows), with the image's Env under the spec's, its
// WorkingDir; writes land in the service's own upper (kept across a restart, gone on recreate);
// `read_only: true` has no upper; a tag that moved recreates with `image changed`; pull_policy
// never refuses a missing image; down removes the writable root; down --rmi all removes the
// images the services ran, keeping one another project still runs.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import { readLogLines } from '../../src/runtime/logs.js';
import { serviceRootDir } from '../../src/state/paths.js';
import { serviceFiles } from '../../src/state/service-files.js';
import { eventually } from '../harness/eventually.js';
import { busyboxLayer, pushImage } from '../harness/oci.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { describeWith } from '../harness/require.js';
import { makeTar } from '../harness/tar.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));

describeWith({ root: true, commands: ['docker-registry'] }, 'up runs image services', () => {
  const project = `ui${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'stack-up-image-'));
  const state = join(dir, 'state');
  const roots = { run: join(state, 'run'), lib: join(state, 'lib') };
  const env = { ...process.env, STACK_ROOT: state, STACK_IP_FORWARD: 'leave', HOME: join(dir, 'home'), DOCKER_CONFIG: join(dir, 'docker') };
  const spec = join(dir, 'compose.yaml');
  const stack = (...args: string[]) => execa(process.execPath, [bin, '-p', project, '-f', spec, ...args], { env, reject: false });
  const logOf = async (service: string) => (await readLogLines(serviceFiles(roots, project, service).log)).map((l) => l.text);
  let reg: TestRegistry;
  let base: Buffer;

  beforeAll(async () => {
    reg = await startRegistry();
    base = await busyboxLayer([{ name: 'app', uid: 4321, gid: 4322, home: '/home/app' }]);
    const top = await makeTar([
      { header: { name: 'work/', type: 'directory', mode: 0o755, uid: 4321, gid: 4322 } },
      { header: { name: 'work/hello.txt', mode: 0o644 }, body: 'from the image\n' },
      { header: { name: 'data/', type: 'directory', mode: 0o750, uid: 4321, gid: 4322 } },
      { header: { name: 'data/seed.txt', mode: 0o640, uid: 4321, gid: 4322 }, body: 'seed in an image volume\n' },
      { header: { name: 'seed/', type: 'directory', mode: 0o755 } },
      { header: { name: 'seed/named.txt', mode: 0o644 }, body: 'seed in a named volume\n' },
    ]);
    await pushImage(reg, 'e2e/app', '1', [base, top], {
      Entrypoint: ['/bin/sh', '-c'],
      Cmd: ['echo "uid=$(id -u) gid=$(id -g) pwd=$(pwd) FOO=$FOO BAR=$BAR"; cat hello.txt; echo "data: $(stat -c \'%u:%g %a\' /data) $(cat /data/seed.txt)"; echo "seed: $(cat /seed/named.txt)"; echo "bare: $(ls -A /bare | wc -l)"; cat /work/written 2>/dev/null; echo written > /work/written; exec sleep 3600'],
      Env: ['PATH=/bin', 'FOO=image', 'BAR=image'],
      WorkingDir: '/work',
      User: 'app',
      ExposedPorts: { '8080/tcp': {} },
      Volumes: { '/data': {} },
    });
    writeFileSync(spec, [
      'services:',
      '  app:',
      `    image: ${reg.host}/e2e/app:1`,
      '    environment: { FOO: spec }',
      '    volumes: ["seeded:/seed", "bare:/bare:nocopy"]',
      '  frozen:',
      `    image: ${reg.host}/e2e/app:1`,
      '    user: root',
      '    read_only: true',
      '    entrypoint: ["/bin/sh", "-c", "touch /work/x 2>/dev/null && echo wrote || echo read-only root; exec sleep 3600"]',
      'volumes:',
      '  seeded: {}',
      '  bare: {}',
      '',
    ].join('\n'));
  }, 60_000);

  afterAll(async () => {
    await execa(process.execPath, [bin, '-p', `${project}o`, 'down', '--timeout', '0'], { env, reject: false });
    await execa(process.execPath, [bin, '-p', project, 'down', '-v', '--timeout', '0'], { env, reject: false });
    await reg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pulls, then runs the image as its own user with its env, working dir and a writable root of its own', async () => {
    expect(readFileSync('/etc/passwd', 'utf8')).not.toMatch(/^app:/m); // only the image knows `app`
    const up = await stack('up', '-d', '--progress', 'plain');
    expect(up.exitCode, String(up.stderr)).toBe(0);
    expect(up.stderr).toMatch(/e2e\/app:1: pulled sha256:/);
    const lines = await eventually('app output', async () => {
      const l = await logOf('app');
      // up to its last line before the sleep: read sooner, the log held only the first lines of it
      return l.some((x) => x.startsWith('uid=')) && l.some((x) => x.startsWith('bare:')) ? l : undefined;
    });
    expect(lines).toContain('uid=4321 gid=4322 pwd=/work FOO=spec BAR=image');
    // The image's Volumes /data became an anonymous volume filled with the image's content, owner
    // and mode; the named volume at /seed too; the `nocopy` one stayed empty.
    expect(lines).toContain('data: 4321:4322 750 seed in an image volume');
    expect(lines).toContain('seed: seed in a named volume');
    expect(lines).toContain('bare: 0');
    expect(lines).not.toContain('written'); // a fresh upper: nothing written before
    await eventually('the write in the service\'s upper', async () => existsSync(join(serviceRootDir(roots, project, 'app'), 'upper', 'work', 'written')) || undefined);
    const frozen = await eventually('frozen output', async () => ((await logOf('frozen')).length > 0 ? logOf('frozen') : undefined));
    expect(frozen).toEqual(['read-only root']);
    expect(existsSync(serviceRootDir(roots, project, 'frozen'))).toBe(false);

    // ps names the image and the port it exposes that nothing publishes, as docker ps does.
    const ps = await stack('ps', '--format', 'json');
    const rows = JSON.parse(ps.stdout) as { name: string; image: string | null; ports: string[] }[];
    expect(rows.find((r) => r.name === 'app')).toMatchObject({ image: `${reg.host}/e2e/app:1`, ports: ['8080/tcp'] });
    expect((await stack('ps')).stdout).toMatch(/^NAME\s+IMAGE\s+STATE/);

    // run: the command replaces the image's Cmd (its Entrypoint stays), as the image's user or --user's.
    const asImageUser = await stack('run', '--rm', '-T', 'app', 'id -un');
    expect(asImageUser.exitCode, String(asImageUser.stderr)).toBe(0);
    expect(asImageUser.stdout.trim()).toBe('app');
    const asRoot = await stack('run', '--rm', '-T', '--user', 'root', 'app', 'id -u; pwd');
    expect(asRoot.stdout.trim().split('\n')).toEqual(['0', '/work']);
    // A working folder the image lacks is made, as Docker makes it.
    const made = await stack('run', '--rm', '-T', '-w', '/not/in/image', 'app', 'pwd');
    expect(made.exitCode, String(made.stderr)).toBe(0);
    expect(made.stdout.trim()).toBe('/not/in/image');

    // A second up changes nothing and pulls nothing (pull_policy missing).
    const again = await stack('up', '-d', '--progress', 'plain');
    expect(again.exitCode, String(again.stderr)).toBe(0);
    expect(again.stderr).not.toMatch(/pulled/);
    expect(again.stderr).not.toMatch(/recreate/i);

    // A restart keeps the upper: the file written by the first run is there.
    const restart = await stack('restart', 'app');
    expect(restart.exitCode, String(restart.stderr)).toBe(0);
    await eventually('the restarted app read its own earlier write', async () => ((await logOf('app')).includes('written') ? true : undefined));
  }, 120_000);

  it('a tag that moved recreates the service with `image changed`, from a fresh upper', async () => {
    await pushImage(reg, 'e2e/app', '1', [base, await makeTar([{ header: { name: 'work/', type: 'directory', mode: 0o755, uid: 4321, gid: 4322 } }, { header: { name: 'work/hello.txt', mode: 0o644 }, body: 'from the new image\n' }, { header: { name: 'seed/', type: 'directory', mode: 0o755 } }])], {
      Entrypoint: ['/bin/sh', '-c'],
      Cmd: ['cat hello.txt; cat /work/written 2>/dev/null || echo no earlier write; echo "seed: $(cat /seed/named.txt)"; exec sleep 3600'],
      Env: ['PATH=/bin'],
      WorkingDir: '/work',
      User: 'app',
    });
    const up = await stack('up', '-d', '--pull', 'always', '--progress', 'plain', '--quiet-pull');
    expect(up.exitCode, String(up.stderr)).toBe(0);
    expect(up.stderr).not.toContain('e2e/app:1: pulled'); // --quiet-pull: no pull line; the plan's lines stay
    expect(up.stderr).toMatch(/app.*image changed/);
    expect(up.stderr).toMatch(/frozen.*image changed/); // it names the same tag
    // Its last line read: the lines before it are there too (read at 'no earlier write', the next could still be on its way).
    const lines = await eventually('new app output', async () => {
      const now = await logOf('app');
      return now.includes('no earlier write') && now.some((l) => l.startsWith('seed:')) ? now : undefined;
    });
    expect(lines).toContain('from the new image');
    expect(lines).toContain('seed: seed in a named volume'); // a volume with data is never copied over
  }, 120_000);

  it('pull_policy never refuses an image that is not in the store, naming it; nothing is started', async () => {
    const other = join(dir, 'never.yaml');
    writeFileSync(other, ['services:', '  ghost:', `    image: ${reg.host}/e2e/ghost:9`, '    pull_policy: never', ''].join('\n'));
    const r = await execa(process.execPath, [bin, '-p', `${project}n`, '-f', other, 'up', '-d'], { env, reject: false });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/service "ghost": image .*e2e\/ghost:9 is not in the image store and its pull_policy is never/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(roots.run, `${project}n`, 'services'))).toBe(false);
  });

  it('down removes the services and their writable roots', async () => {
    const down = await stack('down', '--timeout', '0');
    expect(down.exitCode, String(down.stderr)).toBe(0);
    expect(existsSync(serviceRootDir(roots, project, 'app'))).toBe(false);
    mkdirSync(join(dir, 'home'), { recursive: true });
  });

  it('down --rmi all removes the services\' image, from the snapshot or the spec; one another project uses is kept, and said so', async () => {
    const image = `${reg.host}/e2e/app:1`;
    // No spec there nor above (dir's would be found from a folder under it): `images` lists every stored image.
    const nowhere = mkdtempSync(join(tmpdir(), 'stack-no-spec-'));
    onTestFinished(() => rmSync(nowhere, { recursive: true, force: true }));
    const stored = async () => (await execa(process.execPath, [bin, '-p', 'nospec', 'images', '--format', 'json'], { env, reject: false, cwd: nowhere })).stdout;
    const bad = await stack('down', '--rmi', 'some');
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('--rmi some is neither all nor local');
    expect((await stack('up', '-d', 'frozen')).exitCode).toBe(0);
    const other = join(dir, 'other.yaml');
    writeFileSync(other, ['services:', '  twin:', `    image: ${image}`, '    entrypoint: ["sleep", "3600"]', ''].join('\n'));
    const otherProject = (...args: string[]) => execa(process.execPath, [bin, '-p', `${project}o`, '-f', other, ...args], { env, reject: false });
    expect((await otherProject('up', '-d')).exitCode).toBe(0);
    // local: images built without a name, which stack never makes: nothing removed.
    const local = await stack('down', '--rmi', 'local', '--timeout', '0');
    expect(local.exitCode, String(local.stderr)).toBe(0);
    expect(local.stderr).not.toContain('image ');
    expect(await stored()).toContain('e2e/app');
    expect((await stack('up', '-d', 'frozen')).exitCode).toBe(0);
    const kept = await stack('down', '--rmi', 'all', '--timeout', '0');
    expect(kept.exitCode, String(kept.stderr)).toBe(0);
    expect(kept.stderr).toContain(`warning: image ${image} is used by project ${project}o service twin: kept`);
    expect(await stored()).toContain('e2e/app');
    expect((await otherProject('down', '--timeout', '0')).exitCode).toBe(0);
    // Down already, with no snapshot left: the image its spec names (as compose takes them from its file).
    const gone = await stack('down', '--rmi', 'all');
    expect(gone.exitCode, String(gone.stderr)).toBe(0);
    expect(gone.stderr).toMatch(new RegExp(`image ${image.replace(/[.]/g, '\\.')} removed \\(\\d`));
    expect(JSON.parse(await stored())).toEqual([]);
    const none = await execa(process.execPath, [bin, '-p', `${project}x`, 'down', '--rmi', 'all'], { env, reject: false, cwd: nowhere });
    expect(none.exitCode, String(none.stderr)).toBe(0);
    expect(none.stderr).toContain(`--rmi all: no image to remove (project ${project}x has no snapshot and no spec file was found)`);
  });
});
