// `stack build` and the builds `up` makes, through the real CLI, from a base image served by a
// real docker-registry on 127.0.0.1 (the host's static busybox): a two-stage Dockerfile whose
// RUN steps run on the stage's overlay root, COPY from the context (its .dockerignore obeyed)
// and from the first stage, ENV, ARG, WORKDIR, USER, EXPOSE and CMD; the image runs under
// `up` with what the Dockerfile set; a second build takes every step from the cache, a changed
// file runs its COPY and what follows again; `up --build` recreates the service with the new
// image; a failing RUN stops the build with its status and its last lines, and leaves nothing.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readLogLines } from '../../src/runtime/logs.js';
import { serviceFiles } from '../../src/state/service-files.js';
import { eventually } from '../harness/eventually.js';
import { makeTar } from '../harness/tar.js';
import { gzipSync } from 'node:zlib';
import { busyboxLayer, pushImage } from '../harness/oci.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { describeWith } from '../harness/require.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));

describeWith({ root: true, commands: ['docker-registry'] }, 'build: images from Dockerfiles', () => {
  const project = `bd${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'stack-build-'));
  const app = join(dir, 'app');
  const state = join(dir, 'state');
  const roots = { run: join(state, 'run'), lib: join(state, 'lib') };
  const env = { ...process.env, STACK_ROOT: state, STACK_IP_FORWARD: 'leave', HOME: join(dir, 'home'), DOCKER_CONFIG: join(dir, 'docker') };
  const spec = join(dir, 'compose.yaml');
  const logOf = async (service: string) => (await readLogLines(serviceFiles(roots, project, service).log)).map((l) => l.text);
  /** The CLI for another project of these tests, with its own spec file (and environment). */
  const stackOf = (p: string, file: string, environment: NodeJS.ProcessEnv = env) => (...args: string[]) => execa(process.execPath, [bin, '-p', p, '-f', file, ...args], { env: environment, reject: false });
  const stack = stackOf(project, spec);
  let reg: TestRegistry;

  beforeAll(async () => {
    reg = await startRegistry();
    const extra = ['chmod', 'chown', 'cut', 'tail', 'sort'].map((a) => ({ header: { name: `bin/${a}`, type: 'symlink' as const, linkname: 'busybox', mode: 0o777 } }));
    const base = await busyboxLayer([{ name: 'app', uid: 4321, gid: 4322, home: '/home/app' }], extra);
    await pushImage(reg, 'e2e/busybox', '1', [base], { Env: ['PATH=/bin'], Cmd: ['sh'] });
    mkdirSync(join(app, 'src'), { recursive: true });
    writeFileSync(join(app, 'src', 'message.txt'), 'first message\n');
    writeFileSync(join(app, 'src', 'secret.env'), 'TOKEN=do-not-copy\n');
    writeFileSync(join(app, '.dockerignore'), '**/*.env\n');
    writeFileSync(join(app, 'show.sh'), 'echo "$GREETING; $(cat stamp); $(tr "\\n" " " < listing); $(id -u):$(stat -c %g:%a stamp); $(tr "\\n" " " < interfaces); runs $(cat runs); bind $(cat bind-list); mnt $(ls /mnt 2>/dev/null | wc -l) cache $(ls /var/cache 2>/dev/null | wc -l)"\nexec sleep 3600\n');
    writeFileSync(join(app, 'Dockerfile'), [
      '# syntax=docker/dockerfile:1',
      'ARG BASE',
      'FROM ${BASE} AS build',
      'ARG FLAVOUR=plain',
      'WORKDIR /src',
      'COPY src/ ./',
      'RUN echo "built $FLAVOUR from $(cat message.txt)" > stamp \\',
      ' && ls -A | sort > /tmp/listing && mv /tmp/listing listing \\',
      ' && echo "step output: $(cat stamp)"',
      '',
      'FROM ${BASE}',
      'ENV GREETING="hello there" TARGET=/app',
      'COPY --from=build --chown=app /src/stamp /src/listing ${TARGET}/',
      'WORKDIR $TARGET',
      'RUN cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " " > interfaces; chmod 0640 stamp',
      'RUN --mount=type=cache,target=/var/cache/demo --mount=type=bind,source=src,target=/mnt/src \\',
      '    echo run >> /var/cache/demo/runs && wc -l < /var/cache/demo/runs | tr -d " " > runs && ls /mnt/src | tr "\\n" " " > bind-list',
      'USER app',
      'EXPOSE 8080',
      'COPY show.sh /usr/local/bin/',
      'CMD ["/bin/sh", "/usr/local/bin/show.sh"]',
      '',
    ].join('\n'));
    writeFileSync(spec, [
      'services:',
      '  app:',
      '    build:',
      '      context: ./app',
      '      args:',
      `        BASE: ${reg.host}/e2e/busybox:1`,
      '        FLAVOUR: spiced',
      '      network: none',
      '',
    ].join('\n'));
  }, 60_000);

  afterAll(async () => {
    await execa(process.execPath, [bin, '-p', project, 'down', '-v', '--timeout', '0'], { env, reject: false });
    await reg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('builds the stages the image needs, and up runs what the Dockerfile set', async () => {
    const build = await stack('build');
    expect(build.exitCode, String(build.stderr)).toBe(0);
    const lines = build.stderr.split('\n');
    expect(lines).toContain(`[app build 1/15] FROM \${BASE} AS build`);
    expect(lines).toContain('  | step output: built spiced from first message');
    expect(build.stderr).toMatch(new RegExp(`built app: docker.io/library/${project}-app:latest sha256:[0-9a-f]{12} \\(\\d+ steps run, 0 from the cache\\)`));
    // The RUN of the second stage saw no network but loopback (build.network: none).
    const up = await stack('up', '-d');
    expect(up.exitCode, String(up.stderr)).toBe(0);
    expect(up.stderr).not.toMatch(/building/); // built already: up builds only a missing image
    const out = await eventually('app output', async () => (await logOf('app')).find((l) => l.startsWith('hello there')));
    // The ignored file never reached the first stage; --chown=app gave app's uid and primary group (BuildKit's).
    // The RUN with a cache mount and a bind of the context (its ignored file left out) ran once; neither mount point is left in the image.
    expect(out).toBe('hello there; built spiced from first message; message.txt stamp ; 4321:4322:640; lo ; runs 1; bind message.txt ; mnt 0 cache 0');
    const ps = JSON.parse((await stack('ps', '--format', 'json')).stdout) as { name: string; image: string | null; ports: string[] }[];
    expect(ps.find((r) => r.name === 'app')).toMatchObject({ image: `${project}-app`, ports: ['8080/tcp'] });
  }, 120_000);

  it('takes every step from the cache when nothing changed, and runs again from a changed file on', async () => {
    const again = await stack('build');
    expect(again.exitCode, String(again.stderr)).toBe(0);
    expect(again.stderr).toMatch(/\(0 steps run, \d+ from the cache\)/);
    expect(again.stderr).toMatch(/\[app build \d+\/15\] CACHED RUN echo/);
    // A change of an ignored file changes nothing.
    writeFileSync(join(app, 'src', 'secret.env'), 'TOKEN=changed\n');
    expect((await stack('build')).stderr).toMatch(/\(0 steps run/);
    // A build that changed nothing gives the same image: up --build leaves the service running.
    const same = await stack('up', '-d', '--build', '--progress', 'plain');
    expect(same.exitCode, String(same.stderr)).toBe(0);
    expect(same.stderr).toMatch(/\(0 steps run/);
    expect(same.stderr).not.toMatch(/image changed|recreat/i);
    writeFileSync(join(app, 'src', 'message.txt'), 'second message\n');
    const changed = await stack('up', '-d', '--build');
    expect(changed.exitCode, String(changed.stderr)).toBe(0);
    expect(changed.stderr).toMatch(/\[app build \d+\/15\] CACHED WORKDIR \/src/);
    expect(changed.stderr).toMatch(/\[app build \d+\/15\] COPY src\/ \.\//);
    expect(changed.stderr).toMatch(/step output: built spiced from second message/);
    expect(changed.stderr).toMatch(/image changed/);
    // The bind mount showed the changed file, so the RUN ran again, and its cache mount kept the first run's line.
    const next = await eventually('the new image runs', async () => (await logOf('app')).find((l) => l.includes('second message')));
    expect(next).toMatch(/; runs 2; /);
  }, 120_000);

  it('watch: a rebuild rule builds the image again and recreates the service on it', async () => {
    const watched = join(dir, 'watched.yaml');
    writeFileSync(watched, [
      'services:',
      '  app:',
      '    build:',
      '      context: ./app',
      '      args:',
      `        BASE: ${reg.host}/e2e/busybox:1`,
      '    develop:',
      '      watch:',
      '        - {path: ./app/src, action: rebuild}',
      '',
    ].join('\n'));
    const wp = `${project}w`;
    const watch = spawn(process.execPath, [bin, '-p', wp, '-f', watched, 'watch', '--quiet'], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    watch.stdout.on('data', (d: Buffer) => (out += d.toString()));
    watch.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await eventually('watching', async () => (out.includes('watching 1 rule') ? true : undefined), 60_000);
      const wroots = { run: join(state, 'run'), lib: join(state, 'lib') };
      const log = async () => (await readLogLines(serviceFiles(wroots, wp, 'app').log)).map((l) => l.text);
      await eventually('the first image runs', async () => (await log()).find((l) => l.includes('built plain from second message')), 30_000);
      writeFileSync(join(app, 'src', 'message.txt'), 'third message\n');
      await eventually('the rebuild', async () => (/app\s+rebuilt and recreated in \d+ ms {2}\(app\/src\/message\.txt changed\)/.test(out) ? true : undefined), 60_000);
      await eventually('the new image runs', async () => (await log()).find((l) => l.includes('built plain from third message')), 30_000);
    } finally {
      watch.kill('SIGINT');
      await new Promise((resolve) => watch.once('exit', resolve));
      await stackOf(wp, watched)('down', '--rmi', 'local', '--timeout', '0');
    }
    expect(out).not.toMatch(/rebuild failed/);
  }, 180_000);

  it('a build killed during a RUN: Ctrl-C ends the step at once; after a SIGKILL the next build of the project ends what it left', async () => {
    const slow = join(dir, 'slow');
    mkdirSync(slow, { recursive: true });
    writeFileSync(join(slow, 'Dockerfile'), `FROM ${reg.host}/e2e/busybox:1\nRUN echo sleeping; sleep 300\n`);
    const kp = `${project}k`;
    const spec2 = join(dir, 'slow.yaml');
    writeFileSync(spec2, 'services:\n  slow:\n    build: ./slow\n');
    const groups = () => readdirSync('/sys/fs/cgroup', { withFileTypes: true }).flatMap((c) => {
      const d = join('/sys/fs/cgroup', c.name, 'stack', kp);
      return existsSync(d) ? readdirSync(d).filter((n) => n.startsWith('build-')).map((n) => join(d, n)) : [];
    });
    const partials = () => readdirSync(join(state, 'lib', 'image-store', 'layers')).filter((l) => l.endsWith('.partial-build'));
    for (const signal of ['SIGINT', 'SIGKILL'] as const) {
      const child = spawn(process.execPath, [bin, '-p', kp, '-f', spec2, 'build', '--no-cache'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      await eventually('the RUN', async () => (out.includes('| sleeping') ? true : undefined), 60_000);
      expect(groups().length).toBeGreaterThan(0);
      child.kill(signal);
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      if (signal === 'SIGINT') {
        expect(code).toBe(1);
        expect(out).toMatch(/cancelled/);
        expect(groups()).toEqual([]);
        expect(partials()).toEqual([]);
      } else {
        // The step outlives the CLI, in its cgroup, until a build of the project sweeps it.
        expect(groups().length).toBeGreaterThan(0);
        writeFileSync(join(slow, 'Dockerfile'), `FROM ${reg.host}/e2e/busybox:1\nRUN echo quick\n`);
        const next = await stackOf(kp, spec2)('build');
        expect(next.exitCode, next.stderr).toBe(0);
        expect(groups()).toEqual([]);
        expect(partials()).toEqual([]);
      }
    }
    await stackOf(kp, spec2)('down', '--rmi', 'local');
  }, 180_000);

  it('images lists the built image under its service; down --rmi local removes it, keeping the base', async () => {
    const images = JSON.parse((await stack('images', '--format', 'json')).stdout) as { services: string[]; repository: string; tag: string }[];
    expect(images).toEqual([expect.objectContaining({ services: ['app'], repository: `${project}-app`, tag: 'latest' })]);
    const down = await stack('down', '--rmi', 'local', '--timeout', '0');
    expect(down.exitCode, String(down.stderr)).toBe(0);
    expect(down.stderr).toMatch(new RegExp(`image ${project}-app(:latest)? removed`));
    const left = JSON.parse((await execa(process.execPath, [bin, 'images', '--format', 'json'], { env, cwd: '/', reject: false })).stdout) as { repository: string }[];
    expect(left.map((r) => r.repository)).toEqual([`${reg.host}/e2e/busybox`]);
    // image prune -a: every image goes (no project uses one now), and with them the build cache's
    // entries of their layers and the cache mounts' folders (the first test's /var/cache/demo).
    const storeDir = join(state, 'lib', 'image-store');
    const mounts = () => (existsSync(join(storeDir, 'build-cache-mounts')) ? readdirSync(join(storeDir, 'build-cache-mounts')).filter((n) => /^[0-9a-f]{64}$/.test(n)) : []);
    expect(mounts().length).toBeGreaterThan(0);
    const prune = await execa(process.execPath, [bin, 'image', 'prune', '-a', '-f'], { env, cwd: '/', reject: false });
    expect(prune.exitCode, prune.stderr).toBe(0);
    expect(mounts()).toEqual([]);
    const entries = readdirSync(join(storeDir, 'build-cache')).map((n) => JSON.parse(readFileSync(join(storeDir, 'build-cache', n), 'utf8')) as { diffId?: string });
    expect(entries.filter((e) => e.diffId !== undefined)).toEqual([]); // a layer's entry without its layer is gone
  }, 120_000);

  it('stages reached through RUN --mount from= and COPY --from=${ARG}; a service naming the built image is not pulled', async () => {
    const multi = join(dir, 'multi');
    mkdirSync(multi, { recursive: true });
    writeFileSync(join(multi, 'Dockerfile'), [
      'ARG BASE',
      'ARG SRC=maker',
      'FROM ${BASE} AS maker',
      'RUN echo made-in-maker > /made',
      'FROM ${BASE} AS unused',
      'RUN exit 9',
      'FROM ${BASE}',
      'RUN --mount=type=bind,from=maker,source=/made,target=/mnt/made cat /mnt/made > /seen',
      'COPY --from=${SRC} /made /copied',
      '',
    ].join('\n'));
    const mp = `${project}m`;
    const spec4 = join(dir, 'multi.yaml');
    writeFileSync(spec4, [
      'services:',
      '  producer:',
      `    image: ${reg.host}/e2e/shared:1`,
      '    build:',
      '      context: ./multi',
      `      args: { BASE: "${reg.host}/e2e/busybox:1" }`,
      '    command: ["sleep", "3600"]',
      '  consumer:',
      `    image: ${reg.host}/e2e/shared:1`,
      '    command: ["sh", "-c", "cat /seen /copied; exec sleep 3600"]',
      '',
    ].join('\n'));
    try {
      const up = await stackOf(mp, spec4)('up', '-d', '--progress', 'plain');
      expect(up.exitCode, up.stderr).toBe(0);
      expect(up.stderr).not.toMatch(/e2e\/shared:1: pull/); // built here, so not pulled (the registry has none)
      expect(up.stderr).not.toMatch(/RUN exit 9/); // a stage nothing needs is not built
      const consumerLog = async () => (await readLogLines(serviceFiles(roots, mp, 'consumer').log)).map((l) => l.text);
      expect(await eventually('the consumer\'s output', async () => ((await consumerLog()).length >= 2 ? consumerLog() : undefined))).toEqual(['made-in-maker', 'made-in-maker']);
    } finally {
      await stackOf(mp, spec4)('down', '--rmi', 'all', '--timeout', '0');
    }
  }, 120_000);

  it('ADD unpacks a local tar or tar.gz into its folder (a glob\'s matches too); a bzip2 one is refused with a hint', async () => {
    const arch = join(dir, 'archives');
    mkdirSync(arch, { recursive: true });
    const tarball = await makeTar([
      { header: { name: 'app/', type: 'directory', mode: 0o750, uid: 10, gid: 11 } },
      { header: { name: 'app/run.sh', mode: 0o755, uid: 10, gid: 11 }, body: 'echo from the archive\n' },
      { header: { name: 'app/link', type: 'symlink', linkname: 'run.sh' } },
      { header: { name: 'app/hard', type: 'link', linkname: 'app/run.sh' } },
    ]);
    writeFileSync(join(arch, 'app.tar.gz'), gzipSync(tarball));
    writeFileSync(join(arch, 'plain.tar'), tarball);
    writeFileSync(join(arch, 'Dockerfile'), [
      `FROM ${reg.host}/e2e/busybox:1`,
      'ADD app.tar.gz /opt/',
      'ADD --chown=4321:4322 plain.tar /srv/plain',
      'ADD *.tar.gz /opt/globbed/',
      '',
    ].join('\n'));
    const ap = `${project}a`;
    const spec5 = join(dir, 'archives.yaml');
    writeFileSync(spec5, 'services:\n  unpacked:\n    build: ./archives\n    command: ["sleep", "3600"]\n');
    try {
      const run = await stackOf(ap, spec5)('run', '--rm', '-T', 'unpacked', 'sh', '-c',
        'sh /opt/app/run.sh; sh /opt/globbed/app/run.sh; stat -c "%a %u:%g" /opt/app /opt/app/run.sh /srv/plain/app/run.sh; readlink /opt/app/link; stat -c %h /opt/app/hard');
      expect(run.exitCode, run.stderr).toBe(0);
      // The glob's match was unpacked too (Docker's rule), not copied as app.tar.gz.
      expect(run.stdout.trim().split('\n')).toEqual(['from the archive', 'from the archive', '750 10:11', '755 10:11', '755 4321:4322', 'run.sh', '2']);
      writeFileSync(join(arch, 'app.tar.bz2'), Buffer.concat([Buffer.from('BZh91AY&SY'), Buffer.alloc(64)]));
      writeFileSync(join(arch, 'Dockerfile'), `FROM ${reg.host}/e2e/busybox:1\nADD app.tar.bz2 /opt/\n`);
      const refused = await stackOf(ap, spec5)('build');
      expect(refused.exitCode).toBe(1);
      expect(refused.stderr).toMatch(/Dockerfile:2: ADD app\.tar\.bz2 \/opt\/: ADD of the bzip2 file app\.tar\.bz2: stack unpacks plain and gzip tar archives only/);
    } finally {
      await stackOf(ap, spec5)('down', '--rmi', 'local');
    }
  }, 120_000);

  it('build.secrets: a RUN mounts a secret (from a variable) at /run/secrets/<id>, never kept in the image; a required one the build lacks is said', async () => {
    const sec = join(dir, 'secrets');
    mkdirSync(sec, { recursive: true });
    writeFileSync(join(sec, 'Dockerfile'), [
      `FROM ${reg.host}/e2e/busybox:1`,
      'RUN --mount=type=secret,id=token wc -c < /run/secrets/token | tr -d " " > /token-size && stat -c %a /run/secrets/token > /token-mode',
      'RUN --mount=type=secret,id=absent echo optional ones may be missing',
      '',
    ].join('\n'));
    const xp = `${project}x`;
    const spec6 = join(dir, 'secrets.yaml');
    writeFileSync(spec6, 'services:\n  sec:\n    build:\n      context: ./secrets\n      secrets: [token]\n    command: ["sleep", "3600"]\nsecrets:\n  token:\n    environment: BUILD_TOKEN\n');
    const withToken = { ...env, BUILD_TOKEN: 's3cret-value' };
    try {
      const run = await stackOf(xp, spec6, withToken)('run', '--rm', '-T', 'sec', 'sh', '-c', 'cat /token-size /token-mode; test -e /run/secrets && echo kept || echo gone');
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout.trim().split('\n')).toEqual(['12', '400', 'gone']); // its size and mode were seen; its mount point is not in the image
      // The value is in no layer and no file of the store (the build cache keys do not hold it either).
      const found = await execa('grep', ['-rl', 's3cret-value', join(state, 'lib', 'image-store')], { reject: false });
      expect(found.stdout).toBe('');
      writeFileSync(join(sec, 'Dockerfile'), `FROM ${reg.host}/e2e/busybox:1\nRUN --mount=type=secret,id=other,required true\n`);
      const missing = await stackOf(xp, spec6, withToken)('build');
      expect(missing.exitCode).toBe(1);
      expect(missing.stderr).toMatch(/Dockerfile:2: RUN --mount=type=secret,id=other,required true: --mount=type=secret,id=other: the build has no secret "other"/);
      writeFileSync(join(sec, 'Dockerfile'), `FROM ${reg.host}/e2e/busybox:1\nRUN --mount=type=secret,id=token,required test -s /run/secrets/token\n`);
      const unset = await stackOf(xp, spec6)('build');
      expect(unset.exitCode).toBe(1);
      expect(unset.stderr).toMatch(/Dockerfile:2: .*the build of "sec" needs secret `token`, whose variable BUILD_TOKEN is not set/);
      // An up that builds nothing needs no build secret: the image is there (built above with the token).
      writeFileSync(join(sec, 'Dockerfile'), `FROM ${reg.host}/e2e/busybox:1\nRUN --mount=type=secret,id=token wc -c < /run/secrets/token | tr -d " " > /token-size && stat -c %a /run/secrets/token > /token-mode\nRUN --mount=type=secret,id=absent echo optional ones may be missing\n`);
      const up = await stackOf(xp, spec6)('up', '-d');
      expect(up.exitCode, up.stderr).toBe(0);
    } finally {
      await stackOf(xp, spec6)('down', '--rmi', 'local');
    }
  }, 120_000);

  it('RUN <<EOF runs its script in the SHELL, or as a file when it starts with #!', async () => {
    const scripts = join(dir, 'scripts');
    mkdirSync(scripts, { recursive: true });
    writeFileSync(join(scripts, 'Dockerfile'), [
      `FROM ${reg.host}/e2e/busybox:1`,
      'RUN <<EOF',
      '#!/bin/sh',
      'echo "script $0" > /script-ran',
      'EOF',
      'RUN <<EOF',
      'echo "shell $0" > /shell-ran',
      'EOF',
      '',
    ].join('\n'));
    const sp = `${project}s`;
    const spec3 = join(dir, 'scripts.yaml');
    writeFileSync(spec3, 'services:\n  scripts:\n    build: ./scripts\n    command: ["sleep", "3600"]\n');
    const run = await stackOf(sp, spec3)('run', '--rm', '-T', 'scripts', 'cat', '/script-ran', '/shell-ran');
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout.trim().split('\n')).toEqual(['script /dev/pipes/EOF', 'shell /bin/sh']);
    // The script's mount point was in the step's own /dev, not in a layer.
    const layersDir = join(state, 'lib', 'image-store', 'layers');
    expect(readdirSync(layersDir).filter((l) => existsSync(join(layersDir, l, 'dev')))).toEqual([]);
    await stackOf(sp, spec3)('down', '--rmi', 'local');
  }, 120_000);

  it('a failing RUN stops the build with its status and its last lines, and leaves nothing behind', async () => {
    const failing = join(dir, 'failing');
    mkdirSync(failing, { recursive: true });
    writeFileSync(join(failing, 'Dockerfile'), `FROM ${reg.host}/e2e/busybox:1\nRUN echo about to fail; exit 7\n`);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, `services:\n  broken:\n    build: ./failing\n`);
    const r = await stackOf(`${project}f`, bad)('up', '-d');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/Dockerfile:2: RUN echo about to fail; exit 7: exited with code 7 \(status 7\)/);
    expect(r.stderr).toMatch(/\| about to fail/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const layers = readdirSync(join(state, 'lib', 'image-store', 'layers'));
    expect(layers.filter((l) => l.includes('partial'))).toEqual([]);
    expect(existsSync(join(roots.run, `${project}f`))).toBe(false); // nothing was started
    // A Dockerfile mistake is named at its line and column, with a suggestion.
    writeFileSync(join(failing, 'Dockerfile'), `FROM ${reg.host}/e2e/busybox:1\nFORM x\n`);
    const typo = await stackOf(`${project}f`, bad)('build');
    expect(typo.exitCode).toBe(1);
    expect(typo.stderr).toMatch(/Dockerfile:2:1: .*FORM/);
    expect(typo.stderr).toMatch(/FROM/);
  }, 120_000);
});
