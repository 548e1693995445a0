// compose's create, rm and scale (ps SERVICE, logs --index beside), and up's --no-start, --no-recreate, -V, --always-recreate-deps,
// --abort-on-container-failure and --attach-dependencies, through the real CLI (bin/stack.cjs
// over dist/: `npm run build` first): `create` makes services that `ps` shows created and that
// run nothing until `start`; `rm` removes only stopped services, asks first (no answer: nothing
// removed), and with -s -v stops one and removes its anonymous volume; `scale` adds and removes
// replicas, to 0 too; a recreate keeps an anonymous volume's content unless -V; --no-recreate
// leaves a changed running service as it runs; a failing service ends a foreground up with its
// code; `down` leaves nothing.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, expect, it } from 'vitest';
import { describeWith } from '../harness/require.js';
import { netnsPrefix } from '../../src/names.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));

describeWith({ root: true, commands: ['ip'] }, 'create, rm, scale and up --no-start, --no-recreate, -V', () => {
  const project = `cv${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'stack-verbs-'));
  const state = join(dir, 'state');
  const env = { ...process.env, STACK_ROOT: state, STACK_IP_FORWARD: 'leave' };
  const stack = (...args: string[]) => execa(process.execPath, [bin, '-p', project, '-f', join(dir, 'stack.yaml'), ...args], { env, reject: false, stdin: 'ignore' });
  const spec = (lines: string[]) => writeFileSync(join(dir, 'stack.yaml'), ['services:', ...lines, ''].join('\n'));
  /** NAME → STATE of `stack ps` (the table's first two columns; a state of several words kept whole). */
  const ps = async (): Promise<Record<string, string>> => {
    const out = (await stack('ps', '--format', 'json')).stdout;
    return Object.fromEntries((JSON.parse(out) as { name: string; state: string }[]).map((r) => [r.name, r.state]));
  };
  const netns = async () => (await execa('ip', ['netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(netnsPrefix(project)));
  /** The content of every anonymous volume's folder of the project (their names start with the project's). */
  const anonymousFolders = () => {
    const root = join(state, 'lib', 'volumes');
    return existsSync(root) ? readdirSync(root).filter((v) => v.startsWith(`${project}_anon`)) : [];
  };

  afterAll(async () => {
    await stack('down', '-v');
    rmSync(dir, { recursive: true, force: true });
  });

  it('create makes the services without starting them; start runs them; up --no-start too', async () => {
    spec(['  db:', '    command: sleep infinity', '  web:', '    command: sleep infinity', '    depends_on: [db]']);
    // nothing up yet: a service of the spec lists nothing, as compose's ps lists nothing
    expect(await stack('ps', 'db', '--format', 'json')).toMatchObject({ exitCode: 0, stdout: '[]' });
    const made = await stack('create', '--progress', 'quiet');
    expect(made.stderr).toBe('');
    expect(made.exitCode).toBe(0);
    expect(await ps()).toEqual({ db: 'created', web: 'created' });
    expect((await netns()).length).toBe(2); // their namespaces are made
    expect((await stack('ps', '--status', 'created', '--services')).stdout.split('\n').sort()).toEqual(['db', 'web']);
    expect((await stack('start', 'web', '--progress', 'quiet')).exitCode).toBe(0);
    expect(await ps()).toEqual({ db: 'running', web: 'running' });
    // create refuses what only up has
    const detached = await stack('create', '-d');
    expect(detached.exitCode).toBe(1);
    expect(detached.stderr).toContain('unknown option -d for `stack create`');
    // a changed service recreated by up --no-start is left created, its dependency running
    spec(['  db:', '    command: sleep infinity', '  web:', '    command: sleep 100000', '    depends_on: [db]']);
    expect((await stack('up', '--no-start', '--progress', 'quiet')).exitCode).toBe(0);
    expect(await ps()).toEqual({ db: 'running', web: 'created' });
  });

  it('rm removes the stopped services only, after asking; -s stops first, -v takes the anonymous volumes', async () => {
    spec(['  db:', '    command: sleep infinity', '    volumes: ["/data"]', '  job:', '    command: ["sh", "-c", "exit 3"]', '  web:', '    command: sleep infinity', '    depends_on: [db]']);
    expect((await stack('up', '-d', '--progress', 'quiet')).exitCode).toBe(0);
    for (let i = 0; i < 100 && (await ps()).job === 'running'; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await ps()).toMatchObject({ db: 'running', web: 'running', job: expect.stringMatching(/^exited/) });
    // no answer (standard input at its end): nothing removed
    const asked = await stack('rm');
    expect(asked.exitCode).toBe(0);
    expect(asked.stderr).toContain('Going to remove job. Are you sure? [y/N]');
    expect(asked.stderr).toContain('nothing removed');
    expect(Object.keys(await ps()).sort()).toEqual(['db', 'job', 'web']);
    const forced = await stack('rm', '-f', '--progress', 'quiet');
    expect(forced.stdout).toBe('Going to remove job');
    expect(Object.keys(await ps()).sort()).toEqual(['db', 'web']);
    expect(await stack('rm', '-f')).toMatchObject({ exitCode: 0, stderr: 'No stopped services' });
    // db: stopped (-s) and removed with its anonymous volume (-v), answered yes; web runs on
    expect(anonymousFolders().length).toBe(1);
    const answered = await execa(process.execPath, [bin, '-p', project, '-f', join(dir, 'stack.yaml'), 'rm', '-s', '-v', '--progress', 'quiet', 'db'], { env, reject: false, input: 'y\n' });
    expect(answered.exitCode).toBe(0);
    expect(await ps()).toEqual({ web: 'running' });
    expect(anonymousFolders()).toEqual([]);
    expect((await netns()).length).toBe(1);
    // up makes it again
    expect((await stack('up', '-d', '--progress', 'quiet')).exitCode).toBe(0);
    expect((await ps()).db).toBe('running');
    // not while a service that stays runs in its namespaces
    spec(['  db:', '    command: sleep infinity', '  side:', '    command: sleep infinity', '    network_mode: service:db']);
    expect((await stack('up', '-d', '--remove-orphans', '--progress', 'quiet')).exitCode).toBe(0);
    const shared = await stack('rm', '-f', '-s', 'db');
    expect(shared.exitCode).toBe(1);
    expect(shared.stderr).toContain('service "db" cannot be removed: "side", which runs, runs in its namespaces (`service:db`)');
    expect(await ps()).toEqual({ db: 'running', side: 'running' });
    expect((await stack('rm', '-f', '-s', '--progress', 'quiet', 'db', 'side')).exitCode).toBe(0);
    expect(await ps()).toEqual({});
  });

  it('scale adds and removes replicas, to 0 too, with the services they depend on', async () => {
    spec(['  db:', '    command: sleep infinity', '  worker:', '    command: ["sh", "-c", "echo worker up; sleep 100000"]', '    depends_on: [db]']);
    expect((await stack('down')).exitCode).toBe(0);
    expect((await stack('scale', 'worker=3', '--progress', 'quiet')).exitCode).toBe(0);
    expect(await ps()).toEqual({ db: 'running', 'worker-1': 'running', 'worker-2': 'running', 'worker-3': 'running' });
    // ps SERVICE (a scaled one's name for its replicas), --filter status=; logs --index N
    expect((await stack('ps', 'worker')).stdout.split('\n').slice(1).map((l) => l.split(' ')[0])).toEqual(['worker-1', 'worker-2', 'worker-3']);
    expect((await stack('ps', '--filter', 'status=running', '--services', 'db')).stdout).toBe('db');
    // ps -q: the pid of each listed service that runs, one a line (compose's container IDs)
    const rows = JSON.parse((await stack('ps', '--format', 'json', 'worker')).stdout) as { pid: number | null }[];
    expect(rows.map((r) => r.pid)).toEqual([expect.any(Number), expect.any(Number), expect.any(Number)]);
    expect((await stack('ps', '-q', 'worker')).stdout.split('\n')).toEqual(rows.map((r) => String(r.pid)));
    expect((await stack('ps', '-q', '--services')).stderr).toContain('-q and --services print different things');
    expect((await stack('ps', 'wroker')).stderr).toContain('has no service "wroker"');
    let second = '';
    for (let i = 0; i < 100 && !second.includes('worker up'); i++, await new Promise((r) => setTimeout(r, 50))) second = (await stack('logs', '--index', '2', 'worker')).stdout;
    expect(second.split('\n')).toEqual([expect.stringMatching(/^worker-2 +\| worker up$/)]);
    expect((await stack('logs', '--index', '4', 'worker')).stderr).toContain('service "worker" has no replica 4 with logs');
    expect((await stack('scale', 'worker=1', '--progress', 'quiet')).exitCode).toBe(0);
    expect(await ps()).toEqual({ db: 'running', worker: 'running' });
    expect((await stack('scale', 'worker=0', '--progress', 'quiet')).exitCode).toBe(0);
    expect(await ps()).toEqual({ db: 'running' });
    expect((await netns()).length).toBe(1);
    const bad = await stack('scale', 'worker=x');
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('"worker=x" is not SERVICE=N');
  });

  it('a recreate keeps an anonymous volume unless -V (with --no-start too); --no-recreate leaves a changed service as it was made', async () => {
    // The listing of /data as the service starts, written whole (a rename: no half-written read),
    // and a mark saying which command ran.
    const keeps = (mark: string) =>
      spec([
        '  db:',
        // $$: a $ the spec does not interpolate
        `    command: ["sh", "-c", ${JSON.stringify(`s=$$(ls /data); echo "$$s" > /data/.seen; mv /data/.seen /data/seen; echo ${mark} > /data/mark; sleep 100000`)}]`,
        '    volumes: ["/data"]',
      ]);
    keeps('first');
    expect((await stack('down', '-v')).exitCode).toBe(0);
    expect((await stack('up', '-d', '--progress', 'quiet')).exitCode).toBe(0);
    const read = async (file: string): Promise<string> => {
      for (let i = 0; i < 100; i++) {
        const out = await stack('exec', 'db', 'cat', file);
        if (out.exitCode === 0) return out.stdout;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no ${file}`);
    };
    expect(await read('/data/seen')).toBe(''); // a new volume
    // each start below is waited for by its listing, which the one before left: removed first
    const unseen = async () => expect((await stack('exec', 'db', 'rm', '/data/seen')).exitCode).toBe(0);
    await unseen();
    expect((await stack('up', '-d', '--force-recreate', '--progress', 'quiet')).exitCode).toBe(0);
    expect(await read('/data/seen')).toBe('mark'); // the same volume: what the first wrote
    await unseen();
    expect((await stack('up', '-d', '--force-recreate', '-V', '--progress', 'quiet')).exitCode).toBe(0);
    expect(await read('/data/seen')).toBe(''); // renewed
    // -V with --no-start: renewed as it is recreated, started later without -V
    await unseen();
    keeps('second');
    expect((await stack('up', '--no-start', '-V', '--progress', 'quiet')).exitCode).toBe(0);
    expect(await ps()).toEqual({ db: 'created' });
    expect((await stack('start', '--progress', 'quiet')).exitCode).toBe(0);
    expect(await read('/data/seen')).toBe('');
    expect(await read('/data/mark')).toBe('second');
    // --no-recreate: a changed spec reaches neither the running service nor what restarts it
    await unseen();
    const pid = (await stack('ps', '--format', 'json')).stdout;
    keeps('third');
    const kept = await stack('up', '-d', '--no-recreate');
    expect(kept.exitCode).toBe(0);
    expect(kept.stderr).toContain('nothing to do');
    expect((await stack('ps', '--format', 'json')).stdout).toBe(pid);
    expect((await stack('restart', '--progress', 'quiet')).exitCode).toBe(0);
    expect(await read('/data/seen')).toBe('mark');
    expect(await read('/data/mark')).toBe('second'); // restarted as it was made, not as the spec is now
    await unseen();
    expect((await stack('up', '-d', '--progress', 'quiet')).exitCode).toBe(0); // a plain up applies it
    expect(await read('/data/seen')).toBe('mark');
    expect(await read('/data/mark')).toBe('third');
    // a new service after a down without -v takes the folder its predecessor left, unless -V
    expect((await stack('down', '--progress', 'quiet')).exitCode).toBe(0);
    expect((await stack('up', '-d', '--progress', 'quiet')).exitCode).toBe(0);
    expect(await read('/data/seen')).toBe('mark\nseen');
    expect((await stack('down', '--progress', 'quiet')).exitCode).toBe(0);
    expect((await stack('up', '-d', '-V', '--progress', 'quiet')).exitCode).toBe(0);
    expect(await read('/data/seen')).toBe('');
    expect((await stack('up', '-d', '--no-recreate', '--force-recreate')).stderr).toContain('--no-recreate cannot be combined with --force-recreate');
  });

  it("volumes lists the project's named volumes on the host, those a named service mounts, not an external or anonymous one; down -v takes them", async () => {
    spec([
      '  db:',
      '    command: sleep infinity',
      '    volumes: [data:/data, shared:/shared]',
      '  web:',
      '    command: sleep infinity',
      '    volumes: [assets:/assets, outside:/outside, /cache]',
      'volumes:',
      '  data: {labels: {tier: db}}',
      '  assets: {}',
      '  shared: {name: team-shared}',
      '  outside: {external: true, name: outside}',
    ]);
    // Nothing up: nothing made yet.
    expect((await stack('down', '-v', '--progress', 'quiet')).exitCode).toBe(0);
    expect(await stack('volumes', '--format', 'json')).toMatchObject({ exitCode: 0, stdout: '' });
    mkdirSync(join(state, 'lib', 'volumes', 'outside'), { recursive: true });
    try {
      expect((await stack('up', '-d', '--progress', 'quiet')).exitCode).toBe(0);
      const table = await stack('volumes');
      expect(table.exitCode, table.stderr).toBe(0);
      expect(table.stdout.split('\n')).toEqual(['DRIVER   VOLUME NAME', `local    ${project}_assets`, `local    ${project}_data`, 'local    team-shared']);
      expect(anonymousFolders().length).toBe(1); // web's /cache: there, not listed
      expect((await stack('volumes', '-q', 'web')).stdout.split('\n')).toEqual([`${project}_assets`]);
      expect((await stack('volumes', '--format', 'json', 'web')).stdout.split('\n').map((l) => JSON.parse(l).Labels)).toEqual([`com.docker.compose.project=${project},com.docker.compose.volume=assets`]);
      expect((await stack('volumes', '-q', 'db')).stdout.split('\n')).toEqual([`${project}_data`, 'team-shared']);
      const json = (await stack('volumes', '--format', 'json', 'db')).stdout.split('\n').map((l) => JSON.parse(l));
      expect(json[0]).toEqual({
        Driver: 'local',
        Labels: `com.docker.compose.project=${project},com.docker.compose.volume=data,tier=db`,
        Mountpoint: join(state, 'lib', 'volumes', `${project}_data`),
        Name: `${project}_data`,
        Scope: 'local',
      });
      const unknown = await stack('volumes', 'dbb');
      expect(unknown.exitCode).toBe(1);
      expect(unknown.stderr).toMatch(/no service "dbb"[\s\S]*did you mean "db"\?/);
      // -p alone names the project, no spec file needed.
      const nowhere = mkdtempSync(join(tmpdir(), 'stack-nospec-'));
      const bare = await execa(process.execPath, [bin, '-p', project, 'volumes', '-q'], { env, reject: false, cwd: nowhere }).finally(() => rmSync(nowhere, { recursive: true }));
      expect(bare.stdout.split('\n')).toEqual([`${project}_assets`, `${project}_data`, 'team-shared']);
      expect((await stack('down', '-v', '--progress', 'quiet')).exitCode).toBe(0);
      expect(await stack('volumes')).toMatchObject({ exitCode: 0, stdout: 'DRIVER   VOLUME NAME' });
      expect(existsSync(join(state, 'lib', 'volumes', 'outside'))).toBe(true); // external: not the project's to remove
      expect(anonymousFolders()).toEqual([]);
    } finally {
      rmSync(join(state, 'lib', 'volumes', 'outside'), { recursive: true, force: true });
    }
  });

  it('up --abort-on-container-failure ends on the first failure with its code, and at 0 when all end well', async () => {
    spec(['  ok:', '    command: ["sh", "-c", "echo fine; exit 0"]', '  bad:', '    command: ["sh", "-c", "sleep 0.3; echo failing; exit 4"]', '  long:', '    command: sleep infinity']);
    const failed = await execa(process.execPath, [bin, '-p', project, '-f', join(dir, 'stack.yaml'), 'up', '--abort-on-container-failure', '--progress', 'quiet'], { env, reject: false, timeout: 30_000 });
    expect(failed.exitCode).toBe(4);
    expect(failed.stderr).toContain('bad exited with code 4: aborting on container failure');
    expect(failed.stdout).toMatch(/ok +\| fine/);
    // Its supervisor stopped with it, ps says how each ended from their exit records.
    expect(await ps()).toEqual({ ok: 'exited with code 0', bad: 'exited with code 4', long: 'killed by SIGKILL' });
    // an exit with 0 ends nothing: b, stopped by it, would say so
    spec(['  a:', '    command: ["sh", "-c", "exit 0"]', '  b:', '    command: ["sh", "-c", "trap \'echo stopped; exit 1\' TERM; sleep 1 & wait; echo b-done; exit 0"]']);
    const fine = await execa(process.execPath, [bin, '-p', project, '-f', join(dir, 'stack.yaml'), 'up', '--abort-on-container-failure', '--remove-orphans', '--progress', 'quiet'], { env, reject: false, timeout: 30_000 });
    expect(fine.exitCode).toBe(0);
    expect(fine.stderr).toContain('every service has exited');
    expect(fine.stdout).toContain('b-done');
    expect(fine.stdout).not.toContain('stopped');
    expect((await stack('up', '--abort-on-container-failure', '--abort-on-container-exit')).stderr).toContain('cannot be combined with --abort-on-container-exit');
    // one the supervisor starts again after an exit with 0 is not over: the up goes on (here until its SIGTERM)
    spec(['  a:', '    command: ["sh", "-c", "exit 0"]', '  again:', '    command: ["sh", "-c", "sleep 0.2; exit 0"]', '    restart: always']);
    const goesOn = await execa(process.execPath, [bin, '-p', project, '-f', join(dir, 'stack.yaml'), 'up', '--abort-on-container-failure', '--remove-orphans', '--progress', 'quiet'], { env, reject: false, timeout: 3000 });
    expect(goesOn.timedOut).toBe(true);
    expect(goesOn.stderr).not.toContain('every service has exited');
  });

  it('up --attach-dependencies prints the output of what the named services depend on', async () => {
    spec(['  db:', '    command: ["sh", "-c", "echo db-line; sleep 100000"]', '  web:', '    command: ["sh", "-c", "sleep 0.5; echo web-line; exit 0"]', '    depends_on: [db]']);
    const run = (...flags: string[]) =>
      execa(process.execPath, [bin, '-p', project, '-f', join(dir, 'stack.yaml'), 'up', ...flags, '--abort-on-container-exit', '--remove-orphans', '--progress', 'quiet', 'web'], { env, reject: false, timeout: 30_000 });
    const without = await run();
    expect(without.stdout).toContain('web-line');
    expect(without.stdout).not.toContain('db-line');
    const withDeps = await run('--attach-dependencies');
    expect(withDeps.stdout).toContain('web-line');
    expect(withDeps.stdout).toContain('db-line');
    expect((await stack('down')).exitCode).toBe(0);
    expect(await netns()).toEqual([]);
  });
});
