// `stack watch` through the real CLI with real programs: every editor save pattern gives one
// restart, a real `git checkout` of 1000 files gives one, a change during a restart gives exactly
// one more, ignored files give none, sync of an edit and a deletion into a named volume is seen
// by the service, sync+exec runs its command, a `restart: true` dependent follows, a service that
// dies at once is paused, a service writing into its own watched path gets its rule suspended;
// Ctrl-C leaves the services running and `down` leaves nothing. Bad rules change nothing.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../harness/require.js';
import { inventory } from '../harness/inventory.js';
import { netnsName } from '../../src/names.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const SPEC = `
services:
  web:
    command: ["node", "/app/src/server.js"]
    volumes: ["./:/app"]
    develop:
      watch:
        - path: ./src
          action: restart
  worker:
    command: ["node", "-e", "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000)"]
    depends_on:
      web: {condition: service_started, restart: true}
  bystander:
    command: ["node", "-e", "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000)"]
    depends_on: [web]
  slow:
    command: ["node", "/app/slow/server.js"]
    volumes: ["./:/app"]
    develop:
      watch:
        - path: ./slow
          action: restart
  syncer:
    command: ["node", "-e", "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000)"]
    volumes: ["data:/data"]
    develop:
      watch:
        - path: ./static
          action: sync
          target: /data/static
          initial_sync: true
        - path: ./conf
          action: sync+exec
          target: /data/conf
          exec:
            command: ["sh", "-c", "cat /data/conf/app.conf > /data/applied"]
  crashy:
    command: ["node", "/app/crash/main.js"]
    volumes: ["./:/app"]
    restart: always
    develop:
      watch:
        - path: ./crash
          action: restart
  logger:
    command: ["sh", "-c", "date +%s%N >> /app/logdir/out.log; exec sleep 3600"]
    volumes: ["./:/app"]
    develop:
      watch:
        - path: ./logdir
          action: restart
  migrate:
    command: ["sh", "-c", "echo ran >> /app/oneshot/runs.log"]
    volumes: ["./:/app"]
    develop:
      watch:
        - path: ./oneshot/src
          action: restart
  api:
    command: ["node", "-e", "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000)"]
    depends_on:
      migrate: {condition: service_completed_successfully}
    develop:
      watch:
        - path: ./api
          action: restart
volumes:
  data: {}
`;

const SERVER = (v: string) => `process.on('SIGTERM', () => process.exit(0));\nrequire('http').createServer((q, s) => s.end('${v}')).listen(8080);\n`;

describeWith({ root: true, commands: ['git', 'sh'] }, 'stack watch', () => {
  const project = `wa${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'stack-watch-'));
  const env = { ...process.env, STACK_ROOT: join(dir, '.state'), STACK_IP_FORWARD: 'leave' };
  const stack = (...args: string[]) => execa(process.execPath, [bin, '-p', project, ...args], { env, cwd: dir, reject: false });
  let watch: ChildProcess | undefined;
  let out = '';
  let err = '';

  /** Lines of the watch output about `service` matching `re`. */
  const linesOf = (service: string, re: RegExp): string[] =>
    out.split('\n').filter((l) => l.startsWith(`${service} `) && re.test(l));
  async function until(what: string, probe: () => boolean, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!probe()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n--- watch stdout\n${out}\n--- stderr\n${err}`);
      await sleep(25);
    }
  }
  /** Waits for `n` restart lines of `service` in all, then a quiet 1.5 s to see no more come (a person's pace). */
  async function restartsBecome(service: string, n: number): Promise<void> {
    await until(`${n} restart(s) of ${service}`, () => linesOf(service, /restarted in \d+ ms/).length >= n);
    await sleep(1500);
    expect(linesOf(service, /restarted in \d+ ms/), out).toHaveLength(n);
  }
  async function pids(): Promise<Record<string, number | null>> {
    const ps = await stack('ps', '--format', 'json');
    const rows = JSON.parse(ps.stdout) as { name?: string; service?: string; pid: number | null }[];
    return Object.fromEntries(rows.map((r) => [r.service ?? r.name ?? '', r.pid]));
  }

  beforeAll(async () => {
    writeFileSync(join(dir, 'compose.yaml'), SPEC);
    for (const d of ['src', 'slow', 'static', 'conf', 'crash', 'logdir', 'api', 'oneshot/src']) mkdirSync(join(dir, d), { recursive: true });
    writeFileSync(join(dir, 'src', 'server.js'), SERVER('v0'));
    writeFileSync(join(dir, 'src', '.dockerignore'), 'notes.txt\n');
    writeFileSync(join(dir, 'slow', 'server.js'), "process.on('SIGTERM', () => setTimeout(() => process.exit(0), 600));\nsetInterval(() => {}, 1000);\n");
    writeFileSync(join(dir, 'static', 'index.html'), '<h1>first</h1>');
    writeFileSync(join(dir, 'conf', 'app.conf'), 'level=1');
    writeFileSync(join(dir, 'crash', 'main.js'), "process.on('SIGTERM', () => process.exit(0));\nsetInterval(() => {}, 1000);\n");
    // a git repository whose other branch differs in 1000 files under src/gen
    const git = (...a: string[]) => execa('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', ...a], { cwd: dir });
    await git('init', '-q', '-b', 'main');
    mkdirSync(join(dir, 'src', 'gen'));
    for (let i = 0; i < 1000; i++) writeFileSync(join(dir, 'src', 'gen', `f${i}.js`), `module.exports = ${i};\n`);
    await git('add', '-A');
    await git('commit', '-q', '-m', 'one');
    await git('checkout', '-q', '-b', 'other');
    for (let i = 0; i < 1000; i++) writeFileSync(join(dir, 'src', 'gen', `f${i}.js`), `module.exports = ${i + 1};\n`);
    await git('commit', '-q', '-am', 'two');
    await git('checkout', '-q', 'main');

    watch = spawn(process.execPath, [bin, '-p', project, 'watch', '--quiet'], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    watch.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    watch.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    await until('watching', () => err.includes('watching '), 60_000);
  });

  afterAll(async () => {
    if (watch && watch.exitCode === null) watch.kill('SIGKILL');
    await stack('down', '-v', '--timeout', '0');
    rmSync(dir, { recursive: true, force: true });
  });

  it('brings the services up first; initial_sync copies the static folder', async () => {
    const p = await pids();
    expect(p.web).toBeGreaterThan(0);
    expect(p.syncer).toBeGreaterThan(0);
    expect(out).toMatch(/syncer\s+watch rule 1: initial sync copied 1 file\(s\) to \/data\/static/);
    const cat = await stack('exec', '-T', 'syncer', 'cat', '/data/static/index.html');
    expect(cat.stdout).toBe('<h1>first</h1>');
  });

  it('gives one restart for each editor save pattern, and the restart: true dependent follows', async () => {
    const before = await pids();
    const file = join(dir, 'src', 'server.js');
    // 1. write in place
    writeFileSync(file, SERVER('v1'));
    await restartsBecome('web', 1);
    // 2. write a temporary file, then rename it over the file
    writeFileSync(join(dir, 'src', 'server.js.tmp.1234'), SERVER('v2'));
    renameSync(join(dir, 'src', 'server.js.tmp.1234'), file);
    await restartsBecome('web', 2);
    // 3. delete, then create
    unlinkSync(file);
    writeFileSync(file, SERVER('v3'));
    await restartsBecome('web', 3);
    // 4. vim: the 4913 probe, the original renamed to a backup, the new file written, the backup deleted
    writeFileSync(join(dir, 'src', '4913'), '');
    unlinkSync(join(dir, 'src', '4913'));
    renameSync(file, `${file}~`);
    writeFileSync(file, SERVER('v4'));
    unlinkSync(`${file}~`);
    await restartsBecome('web', 4);
    expect(linesOf('web', /restarted in/)[0]).toMatch(/^web\s+restarted in \d+ ms {2}\(src\/server\.js changed\)$/);
    const after = await pids();
    expect(after.web).not.toBe(before.web);
    expect(after.worker).not.toBe(before.worker); // restart: true follows
    expect(after.bystander).toBe(before.bystander); // a plain dependent does not
  });

  it('gives one restart for a git checkout of 1000 files, and none for ignored files', async () => {
    await execa('git', ['checkout', '-q', 'other'], { cwd: dir });
    await restartsBecome('web', 5);
    expect(linesOf('web', /restarted in/)[4]).toMatch(/and 999 more changed/);
    // .git (outside src, but also inside it), editor files, the .dockerignore's pattern
    mkdirSync(join(dir, 'src', '.git'), { recursive: true });
    writeFileSync(join(dir, 'src', '.git', 'HEAD'), 'x');
    writeFileSync(join(dir, 'src', '.server.js.swp'), 'x');
    writeFileSync(join(dir, 'src', '#server.js#'), 'x');
    writeFileSync(join(dir, 'src', 'server.js___jb_tmp___'), 'x');
    writeFileSync(join(dir, 'src', 'notes.txt'), 'x');
    await restartsBecome('web', 5);
  });

  it('makes exactly one more restart for changes that land while a restart is under way', async () => {
    writeFileSync(join(dir, 'slow', 'a.js'), '1');
    await sleep(200); // batch closed; its stop takes 600 ms
    writeFileSync(join(dir, 'slow', 'b.js'), '1');
    await sleep(100);
    writeFileSync(join(dir, 'slow', 'c.js'), '1');
    await restartsBecome('slow', 2);
    const [first, second] = linesOf('slow', /restarted in/);
    expect(first).toMatch(/\(slow\/a\.js changed\)/);
    expect(second).toMatch(/\(slow\/b\.js and 1 more changed\)/);
  });

  it('syncs an edit and a deletion into the named volume, and runs sync+exec after the copy', async () => {
    writeFileSync(join(dir, 'static', 'index.html'), '<h1>second</h1>');
    writeFileSync(join(dir, 'static', 'extra.css'), 'body{}');
    await until('the sync', () => linesOf('syncer', /synced/).length >= 1);
    expect((await stack('exec', '-T', 'syncer', 'cat', '/data/static/index.html')).stdout).toBe('<h1>second</h1>');
    expect((await stack('exec', '-T', 'syncer', 'cat', '/data/static/extra.css')).stdout).toBe('body{}');
    unlinkSync(join(dir, 'static', 'extra.css'));
    await until('the deletion', () => linesOf('syncer', /extra\.css deleted/).length >= 1);
    const gone = await stack('exec', '-T', 'syncer', 'ls', '/data/static');
    expect(gone.stdout.trim().split('\n')).toEqual(['index.html']);

    writeFileSync(join(dir, 'conf', 'app.conf'), 'level=2');
    await until('the exec', () => linesOf('syncer', /ran sh -c/).length >= 1);
    expect(linesOf('syncer', /ran sh -c/)[0]).toMatch(/exit 0/);
    expect((await stack('exec', '-T', 'syncer', 'cat', '/data/applied')).stdout).toBe('level=2');
    expect(linesOf('syncer', /restarted/)).toEqual([]);
  });

  it('pauses a service that dies right after its restart, and starts it again on the next change', async () => {
    writeFileSync(join(dir, 'crash', 'main.js'), 'process.exit(3);\n');
    await until('the pause', () => linesOf('crashy', /paused/).length >= 1);
    expect(linesOf('crashy', /paused/)[0]).toMatch(/exited with code 3 \d+ ms after its restart: paused/);
    await sleep(1500);
    expect((await pids()).crashy).toBeNull(); // restart: always did not loop it
    writeFileSync(join(dir, 'crash', 'main.js'), "process.on('SIGTERM', () => process.exit(0));\nsetInterval(() => {}, 1000);\n");
    await until('the start', () => linesOf('crashy', /started again in \d+ ms/).length >= 1);
    expect((await pids()).crashy).toBeGreaterThan(0);
  });

  it('suspends a rule whose service writes into its own watched path, naming the file', async () => {
    // The logger's first write may land after its watcher began (the watch's `up` returns once
    // it is launched; its shell writes a moment later): that alone may have looped and been
    // suspended already, and main.sh then resumes the rule. So a suspension after this write counts.
    const suspensions = linesOf('logger', /suspended/).length;
    writeFileSync(join(dir, 'logdir', 'main.sh'), '#');
    await until('the suspension', () => linesOf('logger', /suspended/).length > suspensions, 30_000);
    expect(linesOf('logger', /suspended/).at(-1)).toMatch(/logdir\/out\.log/);
    const restarts = linesOf('logger', /restarted in/).length;
    await sleep(1500);
    expect(linesOf('logger', /restarted in/), linesOf('logger', /./).join('\n')).toHaveLength(restarts); // no more loops
    const resumes = linesOf('logger', /resumed/).length;
    writeFileSync(join(dir, 'logdir', 'main.sh'), '# edited');
    await until('the resume', () => linesOf('logger', /resumed/).length > resumes);
  });

  it('re-runs a one-shot dependency only when its own watched files change', async () => {
    const runs = () => readFileSync(join(dir, 'oneshot', 'runs.log'), 'utf8').trim().split('\n').length;
    expect(runs()).toBe(1);
    writeFileSync(join(dir, 'api', 'main.js'), '1');
    await restartsBecome('api', 1);
    expect(runs()).toBe(1);
    writeFileSync(join(dir, 'oneshot', 'src', 'migration.sql'), 'create table t (x int);');
    await until('the one-shot to run again', () => linesOf('migrate', /completed \(exited with code 0\)/).length >= 1);
    expect(runs()).toBe(2);
    expect(linesOf('api', /restarted in/)).toHaveLength(1);
  });

  it('Ctrl-C stops watching and leaves the services running; down leaves nothing', async () => {
    watch!.kill('SIGINT');
    await until('watch to exit', () => watch!.exitCode !== null);
    expect(watch!.exitCode).toBe(0);
    expect(err).toMatch(/stopped watching; the services keep running/);
    expect((await pids()).web).toBeGreaterThan(0);
    const down = await stack('down', '-v', '--timeout', '0', '--progress', 'plain');
    expect(down.exitCode, down.stderr).toBe(0);
    expect(inventory().filter((o) => o.includes(netnsName(project, '')) || o.includes(`stack/${project}`))).toEqual([]);
    expect(existsSync(join(dir, '.state', 'run', project))).toBe(false);
    expect(readdirSync(join(dir, 'static'))).toEqual(['index.html']); // the host's files untouched
  });
});

describeWith({ root: true }, 'stack watch refuses bad rules before changing anything', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stack-watch-bad-'));
  const env = { ...process.env, STACK_ROOT: join(dir, '.state'), STACK_IP_FORWARD: 'leave' };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['a missing path', '- {path: ./nope, action: restart}', 'WATCH_PATH_MISSING', /service "app", develop.watch rule 1 .*nope does not exist/],
    ['a sync target outside every volume', '- {path: ./src, action: sync, target: /srv}', 'WATCH_TARGET', /service "app", develop.watch rule 1 .*target \/srv is not in a volume/],
    ['a pattern that does not parse', '- {path: ./src, action: restart, ignore: ["[a"]}', 'WATCH_BAD_PATTERN', /develop.watch rule 1 .*"\[a" .*does not parse/],
    ['rebuild of a service without build:', '- {path: ./src, action: rebuild}', 'WATCH_REBUILD', /action rebuild rebuilds the service's image, and "app" has no build:/],
  ])('%s', async (_what, rule, _code, message) => {
    const project = `wb${randomBytes(4).toString('hex')}`;
    const folder = join(dir, project);
    mkdirSync(join(folder, 'src'), { recursive: true });
    writeFileSync(join(folder, 'compose.yaml'), `services:\n  app:\n    command: ["sleep", "3600"]\n    develop:\n      watch:\n        ${rule}\n`);
    const r = await execa(process.execPath, [bin, '-p', project, 'watch'], { env, cwd: folder, reject: false });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/    at /); // no stack trace
    expect(existsSync(join(dir, '.state', 'run', project))).toBe(false);
  });
});

describeWith({ root: true }, 'stack up --watch', () => {
  const project = `wu${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'stack-upwatch-'));
  const env = { ...process.env, STACK_ROOT: join(dir, '.state'), STACK_IP_FORWARD: 'leave' };
  const stack = (...args: string[]) => execa(process.execPath, [bin, '-p', project, ...args], { env, cwd: dir, reject: false });
  afterAll(async () => {
    await stack('down', '--timeout', '0');
    rmSync(dir, { recursive: true, force: true });
  });

  it('streams the output, restarts on a change, and Ctrl-C stops the services as up does', async () => {
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src', 'main.js'), "console.log('hello v1'); process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000);\n");
    writeFileSync(
      join(dir, 'compose.yaml'),
      'services:\n  app:\n    command: ["node", "/app/src/main.js"]\n    volumes: ["./:/app"]\n    develop:\n      watch:\n        - {path: ./src, action: restart}\n',
    );
    const child = spawn(process.execPath, [bin, '-p', project, 'up', '--watch', '--progress', 'plain'], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    const until = async (what: string, probe: () => boolean) => {
      const deadline = Date.now() + 30_000;
      while (!probe()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${out}\n${err}`);
        await sleep(25);
      }
    };
    try {
      await until('the first output', () => out.includes('app | hello v1') && err.includes('watching 1 rule'));
      writeFileSync(join(dir, 'src', 'main.js'), "console.log('hello v2'); process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000);\n");
      await until('the restart and its output', () => /app\s+restarted in \d+ ms {2}\(src\/main\.js changed\)/.test(out) && out.includes('app | hello v2'));
      child.kill('SIGINT');
      await until('up to end', () => child.exitCode !== null);
      expect(child.exitCode).toBe(130);
      const ps = JSON.parse((await stack('ps', '--format', 'json')).stdout) as { pid: number | null }[];
      expect(ps.every((r) => r.pid === null)).toBe(true);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
