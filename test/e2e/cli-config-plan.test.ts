// `stack config` and `stack plan` through the real binary: a good example, a bad spec, refusals.
import { afterAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));
const example = fileURLToPath(new URL('../../examples/hello-node', import.meta.url));
const stateRoot = mkdtempSync(join(tmpdir(), 'stack-e2e-'));
const stack = (cwd: string, ...args: string[]) =>
  execa(process.execPath, [bin, ...args], { cwd, reject: false, env: { STACK_ROOT: stateRoot } });

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'stack-e2e-proj-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** `stack plan` in a project of `files`, removed after. */
async function planIn(files: Record<string, string>) {
  const dir = project(files);
  try {
    return await stack(dir, 'plan');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

afterAll(() => rmSync(stateRoot, { recursive: true, force: true }));

describe('stack config', () => {
  it('prints the normalized example as YAML and as JSON', async () => {
    const yaml = await stack(example, 'config');
    expect(yaml.exitCode).toBe(0);
    expect(yaml.stdout).toMatch(/^name: hello-node$/m);
    const json = await stack(example, 'config', '--format', 'json');
    expect(json.exitCode).toBe(0);
    const doc = JSON.parse(json.stdout);
    expect(Object.keys(doc.services)).toEqual(['api', 'worker']);
    expect(doc.services.api.ports[0]).toMatchObject({ target: 8080, host_ip: '127.0.0.1' });
  });

  it('finds the spec in a parent folder, and -p overrides the name', async () => {
    const r = await stack(join(example, 'node_modules_missing_is_fine').replace(/\/node_modules_missing_is_fine$/, ''), '-p', 'other', 'config', '--format', 'json');
    expect(JSON.parse(r.stdout).name).toBe('other');
  });

  it("lists the services, profiles, volumes and networks one a line (compose's --services, --profiles, --volumes, --networks)", async () => {
    const dir = project({
      'compose.yaml':
        'services:\n  web:\n    command: x\n    networks: [front]\n  debug:\n    command: x\n    profiles: [debug, tools]\n    volumes: [dumps:/d]\n  cache:\n    command: x\n    profiles: [cache]\nnetworks:\n  front: {}\nvolumes:\n  dumps: {}\n',
    });
    try {
      const lines = async (...args: string[]) => {
        const r = await stack(dir, ...args);
        expect(r.exitCode, r.stderr).toBe(0);
        return r.stdout;
      };
      expect(await lines('config', '--services')).toBe('web');
      expect(await lines('--profile', 'debug', 'config', '--services')).toBe('debug\nweb');
      // Every profile a service names, whichever are active.
      expect(await lines('config', '--profiles')).toBe('cache\ndebug\ntools');
      // a named volume stays declared whoever uses it (stack run -v NAME mounts one)
      expect(await lines('config', '--volumes')).toBe('dumps');
      expect(await lines('config', '--networks')).toBe('front');
      // a network only a disabled service uses is left out, as compose leaves it out
      expect(await lines('--profile', 'debug', 'config', '--networks')).toBe('default\nfront');
      expect(await lines('config', '--help')).toMatch(/^Usage: stack config \[OPTIONS\]/);
      expect(await lines('plan', '--help')).toMatch(/^Usage: stack plan \[OPTIONS\]/);
      // compose's -y (answer yes to every prompt): accepted, stack up asks nothing.
      expect(await lines('up', '-y', '--help')).toMatch(/-y, --yes +Accepted for compose's sake/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("prints named services with what they depend on, and only those (compose's config SERVICE...)", async () => {
    const dir = project({
      'compose.yaml':
        'services:\n  web:\n    image: nginx\n    depends_on: [api]\n  api:\n    image: node\n    depends_on: [db]\n  db:\n    image: postgres\n  other:\n    image: redis\n  debug:\n    image: busybox\n    profiles: [debug]\n    depends_on: [other]\n',
    });
    try {
      const run = (...args: string[]) => stack(dir, 'config', ...args);
      const services = async (...names: string[]) => Object.keys((JSON.parse((await run('--format', 'json', ...names)).stdout) as { services: object }).services);
      expect(await services('api')).toEqual(['api', 'db']);
      expect(await services('web', 'other')).toEqual(['api', 'db', 'other', 'web']);
      // A service behind a profile is enabled by naming it, as with up.
      expect(await services('debug')).toEqual(['debug', 'other']);
      expect((await run('--images', 'api')).stdout).toBe('node\npostgres');
      // compose's --services ignores the names: the whole project, as the active profiles enable it.
      expect((await run('--services', 'api')).stdout).toBe('api\ndb\nother\nweb');
      const doc = JSON.parse((await run('--format', 'json', 'db')).stdout) as { services: Record<string, unknown>; networks: Record<string, unknown> };
      expect(Object.keys(doc.services)).toEqual(['db']);
      expect(Object.keys(doc.networks)).toEqual(['default']);
      // -o: the same to a file, nothing on standard output
      const written = await run('--format', 'json', '-o', join(dir, 'out.json'), 'db');
      expect(written).toMatchObject({ exitCode: 0, stdout: '' });
      expect(JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8'))).toEqual(doc);
      expect((await run('-o', join(dir, 'nowhere', 'out.yaml'))).stderr).toContain('its folder does not exist');
      const bad = await run('dbb');
      expect(bad.exitCode).toBe(1);
      expect(bad.stderr).toMatch(/no service "dbb"[\s\S]*did you mean "db"\?/);
      expect(bad.stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("writes a $ left in a value as $$, as compose does, so the output reads back as the same project", async () => {
    const dir = project({
      'compose.yaml': 'services:\n  a:\n    command: ["sh", "-c", "echo $$HOME ${GREETING:-hi}"]\n    environment:\n      PRICE: "$$5"\n      FROM_ENV: ${FROM_ENV}\n',
    });
    try {
      const env = { STACK_ROOT: stateRoot, FROM_ENV: 'a$b' };
      const r = await execa(process.execPath, [bin, 'config', '--format', 'json'], { cwd: dir, reject: false, env });
      expect(r.exitCode, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout);
      expect(doc.services.a.command).toEqual(['sh', '-c', 'echo $$HOME hi']);
      expect(doc.services.a.environment).toEqual({ PRICE: '$$5', FROM_ENV: 'a$$b' });
      // Read back (FROM_ENV no longer set): the same project, the same text.
      writeFileSync(join(dir, 'back.json'), r.stdout);
      const again = await stack(dir, '-f', join(dir, 'back.json'), 'config', '--format', 'json');
      expect(again.exitCode, again.stderr).toBe(0);
      expect(again.stdout).toBe(r.stdout);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("lists the variables the spec uses, one required and unset too (compose's --variables), and the environment interpolation reads (--environment)", async () => {
    const dir = project({
      'compose.yaml': 'services:\n  db:\n    image: "postgres:${PG_VERSION:-16}"\n    environment:\n      POSTGRES_PASSWORD: ${DB_PASSWORD:?set DB_PASSWORD}\n      MODE: ${MODE:+on}\n',
      '.env': 'PG_VERSION=15\nFROM_DOTENV=yes\n',
    });
    try {
      const table = await stack(dir, 'config', '--variables');
      expect(table.exitCode, table.stderr).toBe(0);
      expect(table.stdout.split('\n').map((l) => l.split(/\s{3,}/))).toEqual([
        ['NAME', 'REQUIRED', 'DEFAULT VALUE', 'ALTERNATE VALUE'],
        ['DB_PASSWORD', 'true'],
        ['MODE', 'false', 'on'],
        ['PG_VERSION', 'false', '16'],
      ]);
      const json = await stack(dir, 'config', '--variables', '--format', 'json');
      expect(JSON.parse(json.stdout).PG_VERSION).toEqual({ Name: 'PG_VERSION', DefaultValue: '16', PresenceValue: '', Required: false });
      // The plain config fails on the required variable; --environment interpolates as it does.
      expect((await stack(dir, 'config')).stderr).toMatch(/compose\.yaml:5:\d+: error: .*required variable DB_PASSWORD is missing a value: set DB_PASSWORD/);
      const env = await execa(process.execPath, [bin, 'config', '--environment'], { cwd: dir, reject: false, env: { STACK_ROOT: stateRoot, DB_PASSWORD: 's3cret', PG_VERSION: '14' } });
      expect(env.exitCode, env.stderr).toBe(0);
      const lines = env.stdout.trim().split('\n');
      expect(lines).toEqual([...lines].sort());
      expect(lines).toEqual(expect.arrayContaining(['DB_PASSWORD=s3cret', 'FROM_DOTENV=yes', 'PG_VERSION=14', `COMPOSE_PROJECT_NAME=${dir.split('/').pop()!.toLowerCase()}`]));
      // -p over the variable: what interpolation reads is the name chosen, as compose sets it.
      const renamed = await execa(process.execPath, [bin, '-p', 'chosen', 'config', '--environment'], { cwd: dir, reject: false, env: { STACK_ROOT: stateRoot, DB_PASSWORD: 'x', COMPOSE_PROJECT_NAME: 'fromenv' } });
      expect(renamed.stdout.split('\n')).toContain('COMPOSE_PROJECT_NAME=chosen');
      const bad = await stack(dir, 'config', '--variables', '--format', 'xml');
      expect(bad.exitCode).toBe(1);
      expect(bad.stderr).toContain('use --format table, json or yaml');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("prints the merged files as written with --no-interpolate: variables and $$ stay, nothing is required", async () => {
    const dir = project({
      'compose.yaml': 'name: demo\nservices:\n  a:\n    image: "redis:${TAG:-7}"\n    environment: {P: "${PASS:?}", X: "$$5"}\n',
      'compose.override.yaml': 'services:\n  a:\n    command: ["echo", "${WORD}"]\n',
    });
    try {
      const r = await stack(dir, 'config', '--no-interpolate', '--format', 'json');
      expect(r.exitCode, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ name: 'demo', services: { a: { image: 'redis:${TAG:-7}', environment: { P: '${PASS:?}', X: '$$5' }, command: ['echo', '${WORD}'] } } });
      const yaml = await stack(dir, 'config', '--no-interpolate', 'a');
      expect(yaml.stdout).toMatch(/^ {4}image: redis:\$\{TAG:-7\}$/m);
      expect(yaml.stderr).toContain('the service names are ignored');
      // A list comes first, as in compose: --services of the model as written, the others refused.
      expect(await stack(dir, 'config', '--no-interpolate', '--services')).toMatchObject({ exitCode: 0, stdout: 'a' });
      const hash = await stack(dir, 'config', '--no-interpolate', '--hash', '*');
      expect(hash.exitCode).toBe(1);
      expect(hash.stderr).toContain('--no-interpolate lists only --services');
      // A name that needs a required variable: the folder's, nothing failed.
      writeFileSync(join(dir, 'compose.yaml'), 'name: ${PROJECT:?set PROJECT}\nservices:\n  a:\n    image: "redis:${TAG:-7}"\n');
      const named = await stack(dir, 'config', '--variables', '--format', 'json');
      expect(named.exitCode, named.stderr).toBe(0);
      expect(Object.keys(JSON.parse(named.stdout))).toEqual(['PROJECT', 'TAG', 'WORD']); // WORD: the override's
      expect(JSON.parse((await stack(dir, 'config', '--no-interpolate', '--format', 'json')).stdout).name).toBe(dir.split('/').pop()!.toLowerCase());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports every mistake of a bad spec with file:line:col, no stack trace, exit 1', async () => {
    const dir = project({
      'compose.yaml': 'services:\n  web:\n    command: ["true"]\n    imagee: nginx\n  api:\n    command: x\n    ports: ["abc"]\n  db:\n    command: x\n    restart: sometimes\n',
    });
    try {
      const r = await stack(dir, 'config');
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/compose\.yaml:4:5: error: services\.web\.imagee/);
      expect(r.stderr).toMatch(/did you mean .*image/);
      expect(r.stderr).toMatch(/compose\.yaml:7:\d+: error: services\.api\.ports/);
      expect(r.stderr).toMatch(/compose\.yaml:10:\d+: error: services\.db\.restart/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('stack plan', () => {
  it('plans the example from an empty host', async () => {
    const r = await stack(example, 'plan');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^create-network\s+network:default\s+new network$/m);
    expect(r.stdout).toMatch(/^start-service\s+service:worker\s+new service\s+\(after .*start-service:api\)$/m);
  });

  it('refuses a build of a remote context, and a service with nothing to run, where the spec says them, exit 1', async () => {
    const r = await planIn({ 'compose.yaml': 'services:\n  web:\n    environment: {A: "1"}\n  app:\n    build: https://github.com/x/y.git\n' });
    expect(r.exitCode).toBe(1);
    // In the files' order, each at its file:line:col (found in the loaded project, placed by reading the files again).
    expect(r.stderr).toMatch(/^compose\.yaml:5:12: error: services\.app\.build\.context: service "app" builds from https:\/\/github\.com\/x\/y\.git; stack builds only from a local folder$/m);
    expect(r.stderr).toMatch(/^compose\.yaml:3:5: error: services\.web: service "web" has nothing to run$/m);
    expect(r.stderr.indexOf('compose.yaml:3:5')).toBeLessThan(r.stderr.indexOf('compose.yaml:5:12'));
    expect(r.stderr).toMatch(/clone the repository/);
  });

  it('plans a service with build: whose image is not built yet, saying up builds it first', async () => {
    const r = await planIn({ 'compose.yaml': 'services:\n  app:\n    build: .\n', Dockerfile: 'FROM scratch\n' });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/start-service\s+service:app/);
    expect(r.stderr).toMatch(/service app: up builds [a-z0-9-]+-app first/);
  });

  it('refuses an image: that is no image reference where the spec says it, once for a scaled service, exit 1', async () => {
    const r = await planIn({ 'compose.yaml': 'services:\n  app:\n    image: MyApp:latest\n    scale: 3\n' });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^stack: 1 error in the spec:$/m);
    expect(r.stderr).toMatch(/^compose\.yaml:3:12: error: services\.app\.image: service "app": image reference "MyApp:latest": .* must be lowercase$/m);
    expect(r.stderr).toMatch(/hint: +write it as "myapp:latest"/);
  });

  it("refuses a scaled service's missing secret file once, not once a replica", async () => {
    const r = await planIn({ 'compose.yaml': 'services:\n  web:\n    command: sleep 1\n    scale: 3\n    secrets: [token]\nsecrets:\n  token:\n    file: ./missing.txt\n' });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^stack: 1 error in the spec:$/m);
    expect(r.stderr).toMatch(/^compose\.yaml:\d+:\d+: error: .*missing\.txt/m);
  });

  it('plans an image service whose image is not pulled yet, saying up pulls it first', async () => {
    const dir = project({ 'compose.yaml': 'services:\n  cache:\n    image: redis:7\n' });
    try {
      const r = await stack(dir, 'plan');
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/start-service\s+service:cache/);
      expect(r.stderr).toMatch(/service cache: up pulls redis:7 first/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names a dependency cycle', async () => {
    const dir = project({
      'compose.yaml': 'services:\n  web:\n    command: a\n    depends_on: [api]\n  api:\n    command: b\n    depends_on: [web]\n',
    });
    try {
      const r = await stack(dir, 'plan');
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/(web -> api -> web|api -> web -> api)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
