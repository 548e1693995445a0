// Secrets and configs through the real CLI (bin/stack.cjs over dist/: `npm run build` first): a
// host-program service reads a file secret (bound live, its own mode), an environment secret and
// a content config (files stack wrote, 0400 or the given mode, owned by the service's user) at
// their targets, read-only; the environment secret's value is on the host only in its own file
// (0400 in a 0700 folder), not in the snapshot nor any record; `up` with a missing secret file
// exits 1 naming it and starts nothing; `down` leaves nothing.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../harness/require.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));

/** Every file under `dir` (recursive), absolute. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describeWith({ root: true, commands: ['sh', 'stat', 'cat'] }, 'secrets and configs', () => {
  const project = `sc${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'stack-secrets-'));
  const state = join(dir, 'state');
  const value = `env-secret-${randomBytes(8).toString('hex')}`;
  const env = { ...process.env, STACK_ROOT: state, STACK_IP_FORWARD: 'leave', DB_KEY: value };
  const stack = (spec: string, ...args: string[]) => execa(process.execPath, [bin, '-p', project, '-f', join(dir, spec), ...args], { env, reject: false });

  beforeAll(() => {
    writeFileSync(join(dir, 'db_password.txt'), 'file-secret', { mode: 0o640 });
    writeFileSync(
      join(dir, 'stack.yaml'),
      [
        'services:',
        '  app:',
        '    command: sleep infinity',
        '    secrets:',
        '      - db_password',
        '      - source: db_key',
        '        mode: 0440',
        '    configs:',
        '      - source: app_conf',
        '        target: /etc/app.conf',
        '  nobody:',
        '    command: sleep infinity',
        '    user: "65534:65534"',
        '    secrets: [db_key]',
        'secrets:',
        '  db_password:',
        '    file: ./db_password.txt',
        '  db_key:',
        '    environment: DB_KEY',
        'configs:',
        '  app_conf:',
        '    content: "listen = 8080"',
        '',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'missing.yaml'), 'services:\n  lone:\n    command: sleep infinity\n    secrets: [gone]\nsecrets:\n  gone:\n    file: ./gone.txt\n');
  });
  afterAll(async () => {
    await stack('stack.yaml', 'down', '--timeout', '0');
    rmSync(dir, { recursive: true, force: true });
  });

  it('up with a missing secret file exits 1 naming it and starts nothing', async () => {
    const r = await stack('missing.yaml', 'up', '-d');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(join(dir, 'gone.txt'));
    expect(r.stderr).toContain('secret `gone`');
    expect(existsSync(join(state, 'run', project, 'services'))).toBe(false);
  });

  it('each service reads its secrets and configs at their targets with the expected modes, read-only', async () => {
    const up = await stack('stack.yaml', 'up', '-d');
    expect(up.exitCode, up.stderr).toBe(0);
    const look = 'for f in /run/secrets/db_password /run/secrets/db_key /etc/app.conf; do echo "$f $(stat -c "%a %u" $f) $(cat $f)"; done';
    const r = await stack('stack.yaml', 'exec', 'app', 'sh', '-c', look);
    expect(r.stdout.split('\n'), r.stderr).toEqual([
      '/run/secrets/db_password 640 0 file-secret',
      `/run/secrets/db_key 440 0 ${value}`,
      '/etc/app.conf 400 0 listen = 8080',
    ]);
    const write = await stack('stack.yaml', 'exec', 'app', 'sh', '-c', 'echo x > /run/secrets/db_key');
    expect(write.exitCode).not.toBe(0);
    expect(write.stderr).toMatch(/Read-only file system/);
    // A service that is not root owns its copy (0400): it can read it.
    const n = await stack('stack.yaml', 'exec', 'nobody', 'sh', '-c', 'stat -c "%a %u %g" /run/secrets/db_key; cat /run/secrets/db_key');
    expect(n.stdout.split('\n'), n.stderr).toEqual(['400 65534 65534', value]);
  });

  it('a file secret is live: a change on the host is seen by the service', async () => {
    writeFileSync(join(dir, 'db_password.txt'), 'file-secret-2');
    const r = await stack('stack.yaml', 'exec', 'app', 'cat', '/run/secrets/db_password');
    expect(r.stdout).toBe('file-secret-2');
  });

  it('the environment secret is on the host only in its own file, 0400 in a 0700 folder', () => {
    const holding = [...filesUnder(state), ...filesUnder(dir).filter((f) => !f.startsWith(state))].filter((f) => readFileSync(f).includes(value));
    expect(holding.sort()).toEqual([
      join(state, 'run', project, 'runtime', 'app', 'secrets', 'secret-1-db_key'),
      join(state, 'run', project, 'runtime', 'nobody', 'secrets', 'secret-0-db_key'),
    ]);
    for (const file of holding) {
      expect(statSync(file).mode & 0o777).toBe(file.includes('/app/') ? 0o440 : 0o400);
      expect(statSync(join(file, '..')).mode & 0o777).toBe(0o700);
    }
    // The snapshot keeps the variable's name, not its value.
    const snapshot = readFileSync(join(state, 'run', project, 'project.json'), 'utf8');
    expect(snapshot).toContain('"DB_KEY"');
  });

  it('down leaves nothing of the project', async () => {
    const r = await stack('stack.yaml', 'down', '--timeout', '0');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(filesUnder(join(state, 'run', project))).toEqual([]);
  });
});
