// `stack cp` through the real CLI (dist): docker cp's rules both ways (a file to a new name or
// into a folder, a folder as a new folder or into one, `SRC/.` for contents, `-` as a tar
// stream), and escapes refused: paths resolve in the service's own view, so a symlink in the
// service pointing at `/` (or at a host folder) reaches the service's files, never the host's —
// the host's /tmp, where this test keeps a secret, is not in the service's view.
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeRoot } from '../harness/require.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));

describeRoot('stack cp', () => {
  const project = `cp${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'stack-cp-'));
  const spec = join(dir, 'compose.yaml');
  const out = join(dir, 'out');
  const env = { ...process.env, STACK_ROOT: join(dir, 'state'), STACK_IP_FORWARD: 'leave' };
  const stack = (...args: string[]) => execa(process.execPath, [bin, '-p', project, '-f', spec, ...args], { env, reject: false, cwd: dir });
  const inService = async (script: string) => {
    const r = await stack('exec', 'web', 'sh', '-c', script);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    return r.stdout;
  };

  beforeAll(async () => {
    writeFileSync(spec, ['services:', '  web:', '    command: sleep infinity', ''].join('\n'));
    writeFileSync(join(dir, 'secret.txt'), 'host secret\n');
    mkdirSync(join(dir, 'in', 'sub'), { recursive: true });
    writeFileSync(join(dir, 'in', 'file.txt'), 'from the host\n');
    writeFileSync(join(dir, 'in', 'sub', 'nested.txt'), 'nested\n');
    mkdirSync(out);
    const up = await stack('up', '-d', '--progress', 'plain');
    expect(up.exitCode, String(up.stderr)).toBe(0);
    await inService(`mkdir -p /tmp/data/sub && echo hello > /tmp/data/a.txt && echo deep > /tmp/data/sub/b.txt && ln -s / /tmp/root && ln -s ${dir} /tmp/hostdir`);
  }, 60_000);
  afterAll(async () => {
    await execa(process.execPath, [bin, '-p', project, 'down', '--timeout', '0'], { env, reject: false });
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('service → host: a file to a new name and into a folder; a folder as a new one, into one, and its contents (/.)', async () => {
    expect((await stack('cp', 'web:/tmp/data/a.txt', join(out, 'a-copy.txt'))).exitCode).toBe(0);
    expect(readFileSync(join(out, 'a-copy.txt'), 'utf8')).toBe('hello\n');
    expect((await stack('cp', 'web:/tmp/data/a.txt', 'out/')).exitCode).toBe(0); // relative to the command's folder
    expect(readFileSync(join(out, 'a.txt'), 'utf8')).toBe('hello\n');
    expect((await stack('cp', 'web:/tmp/data', join(out, 'data2'))).exitCode).toBe(0);
    expect(readFileSync(join(out, 'data2', 'sub', 'b.txt'), 'utf8')).toBe('deep\n');
    expect((await stack('cp', 'web:/tmp/data', out)).exitCode).toBe(0);
    expect(readFileSync(join(out, 'data', 'a.txt'), 'utf8')).toBe('hello\n');
    expect((await stack('cp', 'web:/tmp/data/.', join(out, 'contents'))).exitCode).toBe(0);
    expect(readFileSync(join(out, 'contents', 'sub', 'b.txt'), 'utf8')).toBe('deep\n');
    expect(existsSync(join(out, 'contents', 'data'))).toBe(false);
    // a symlink in the service resolves in its view: /tmp/root is the service's /
    expect((await stack('cp', 'web:/tmp/root/tmp/data/a.txt', join(out, 'via-link.txt'))).exitCode).toBe(0);
    expect(readFileSync(join(out, 'via-link.txt'), 'utf8')).toBe('hello\n');
    const stream = await execa(process.execPath, [bin, '-p', project, '-f', spec, 'cp', 'web:/tmp/data/a.txt', '-'], { env, encoding: 'buffer', reject: false });
    expect(stream.exitCode).toBe(0);
    expect((await execa('tar', ['-tf', '-'], { input: stream.stdout })).stdout).toBe('a.txt');
  });

  it('host → service: a file into a folder, a folder to a new name, owned by root', async () => {
    expect((await stack('cp', join(dir, 'in', 'file.txt'), 'web:/tmp/data/')).exitCode).toBe(0);
    expect(await inService('cat /tmp/data/file.txt')).toBe('from the host');
    expect((await stack('cp', join(dir, 'in'), 'web:/tmp/newdir')).exitCode).toBe(0);
    expect(await inService('cat /tmp/newdir/sub/nested.txt; stat -c %u /tmp/newdir/file.txt')).toBe('nested\n0');
    expect((await stack('cp', join(dir, 'in', 'file.txt'), 'web:/tmp/renamed.txt')).exitCode).toBe(0);
    expect(await inService('cat /tmp/renamed.txt')).toBe('from the host');
  });

  it('-a keeps the owners both ways; without it the copy is owned by who copies', async () => {
    writeFileSync(join(dir, 'owned.txt'), 'owned\n');
    chownSync(join(dir, 'owned.txt'), 1234, 2345);
    expect((await stack('cp', '-a', join(dir, 'owned.txt'), 'web:/tmp/owned-a.txt')).exitCode).toBe(0);
    expect((await stack('cp', join(dir, 'owned.txt'), 'web:/tmp/owned-root.txt')).exitCode).toBe(0);
    expect(await inService('stat -c %u:%g /tmp/owned-a.txt /tmp/owned-root.txt')).toBe('1234:2345\n0:0');
    await inService('echo x > /tmp/svc-owned && chown 4321:5432 /tmp/svc-owned');
    expect((await stack('cp', '-a', 'web:/tmp/svc-owned', join(out, 'svc-a'))).exitCode).toBe(0);
    expect((await stack('cp', 'web:/tmp/svc-owned', join(out, 'svc-root'))).exitCode).toBe(0);
    expect([statSync(join(out, 'svc-a')).uid, statSync(join(out, 'svc-a')).gid, statSync(join(out, 'svc-root')).uid]).toEqual([4321, 5432, 0]);
  });

  it('-L follows SRC itself, named as SRC, and no link inside a copied folder, either way', async () => {
    // in the service: lnk -> /tmp/data (a folder holding inner -> a.txt), flink -> /tmp/data/a.txt
    await inService('ln -s a.txt /tmp/data/inner && ln -s /tmp/data /tmp/lnk && ln -s /tmp/data/a.txt /tmp/flink');
    expect((await stack('cp', '-L', 'web:/tmp/lnk', out)).exitCode).toBe(0);
    expect(lstatSync(join(out, 'lnk')).isDirectory()).toBe(true); // SRC's name, its target's content
    expect(readFileSync(join(out, 'lnk', 'a.txt'), 'utf8')).toBe('hello\n');
    expect(readlinkSync(join(out, 'lnk', 'inner'))).toBe('a.txt'); // still a link
    // a trailing slash resolves the link as a folder too, -L or not
    expect((await stack('cp', 'web:/tmp/lnk/', join(out, 'viaslash'))).exitCode).toBe(0);
    expect([lstatSync(join(out, 'viaslash')).isDirectory(), readFileSync(join(out, 'viaslash', 'a.txt'), 'utf8')]).toEqual([true, 'hello\n']);
    expect((await stack('cp', '-L', 'web:/tmp/flink', out)).exitCode).toBe(0);
    expect([lstatSync(join(out, 'flink')).isFile(), readFileSync(join(out, 'flink'), 'utf8')]).toEqual([true, 'hello\n']);
    // on the host: hlnk -> in (a folder holding inner -> file.txt)
    symlinkSync('file.txt', join(dir, 'in', 'inner'));
    symlinkSync(join(dir, 'in'), join(dir, 'hlnk'));
    expect((await stack('cp', '-L', join(dir, 'hlnk'), 'web:/tmp/')).exitCode).toBe(0);
    expect(await inService('cat /tmp/hlnk/file.txt; readlink /tmp/hlnk/inner; [ -d /tmp/hlnk ] && [ ! -L /tmp/hlnk ] && echo dir')).toBe('from the host\nfile.txt\ndir');
    expect((await stack('cp', join(dir, 'hlnk'), 'web:/tmp/plain-link')).exitCode).toBe(0); // without -L: the link itself
    expect(await inService('readlink /tmp/plain-link')).toBe(join(dir, 'in'));
  });

  it("refuses escapes: a link to / or to a host folder never reaches the host's files, either way", async () => {
    expect(readFileSync(join(dir, 'secret.txt'), 'utf8')).toBe('host secret\n'); // there on the host
    // Without -L a symlink SRC is copied as the link it is (docker cp): a link, no content.
    expect((await stack('cp', 'web:/tmp/hostdir', join(out, 'link'))).exitCode).toBe(0);
    expect(lstatSync(join(out, 'link')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(out, 'link'))).toBe(dir);
    for (const path of [`/tmp/root${dir}/secret.txt`, '/tmp/hostdir/secret.txt', '/tmp/hostdir']) {
      for (const flags of path === '/tmp/hostdir' ? [['-L']] : [[], ['-L']]) {
        const r = await stack('cp', ...flags, `web:${path}`, join(out, 'leak'));
        expect(r.exitCode, `${path} ${flags}`).toBe(1);
        expect(r.stderr).toContain(`no such file or folder in service "web": ${path}`);
        expect(r.stderr).not.toMatch(/\n\s+at /);
        expect(existsSync(join(out, 'leak'))).toBe(false);
      }
    }
    const into = await stack('cp', join(dir, 'in', 'file.txt'), `web:/tmp/root${dir}/`);
    expect(into.exitCode).toBe(1);
    expect(into.stderr).toContain('does not exist');
    const intoLink = await stack('cp', join(dir, 'in', 'file.txt'), 'web:/tmp/hostdir/file.txt');
    expect(intoLink.exitCode).toBe(1);
    expect(existsSync(join(dir, 'file.txt'))).toBe(false);
  });

  it('says what is wrong: both sides local, an unknown service, a folder onto a file', async () => {
    const local = await stack('cp', join(dir, 'secret.txt'), join(out, 'x'));
    expect(local.exitCode).toBe(1);
    expect(local.stderr).toContain('exactly one side is SERVICE:PATH');
    const unknown = await stack('cp', 'wbe:/tmp/data', out);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain('no service "wbe"');
    const onto = await stack('cp', 'web:/tmp/data', join(out, 'a.txt'));
    expect(onto.exitCode).toBe(1);
    expect(onto.stderr).toContain('cannot copy a folder onto the file');
  });
});
