// Names as compose checks them: services `^[a-zA-Z0-9._-]+$` without `.` and `..`, projects
// `^[a-z0-9][a-z0-9_-]*$` from -p, COMPOSE_PROJECT_NAME, `name:` or the (normalized) folder.
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadRaw } from '../../../src/spec/load.js';
import { resolveProjectName } from '../../../src/spec/project-name.js';
import { validate } from '../../../src/spec/validate.js';
import { tree } from '../spec-load/tmp.js';
import { rawSpec } from './raw-spec.js';

/** The one diagnostic for a second service whose key is `key` (line 4, col 3), checked for what every such refusal says. */
function refusalOfSecondService(key: string, name: string) {
  const diagnostics = validate(rawSpec(`services:\n  web:\n    command: ["true"]\n  ${key}:\n    command: ["true"]\n`));
  expect(diagnostics).toHaveLength(1);
  expect(diagnostics[0]).toMatchObject({
    code: 'BAD_NAME',
    severity: 'error',
    path: ['services', name],
    location: { file: '/proj/stack.yaml', line: 4, col: 3 },
    found: JSON.stringify(name),
  });
  return diagnostics[0]!;
}

describe('service names', () => {
  test.each(['.', '..'])('%j is refused at its key, with file:line:col', (name) => {
    const d = refusalOfSecondService(`"${name}"`, name);
    expect(d).toMatchObject({ expected: 'a name of letters, digits, ".", "_" and "-", other than "." and ".."' });
    expect(d.hint).toContain('names a folder');
  });

  test.each(['a b', 'web/1', 'ü'])('%j is refused', (name) => {
    const [d] = validate(rawSpec(`services:\n  "${name}":\n    command: ["true"]\n`));
    expect(d).toMatchObject({ code: 'BAD_NAME', path: ['services', name], location: { line: 2, col: 3 } });
  });

  test.each(['memory.max', 'cgroup.procs', 'cgroup.kill', 'cpu.shares', 'pids.max', 'devices.allow', 'tasks', 'notify_on_release', 'release_agent'])(
    '%j, a cgroup interface file (each service gets a cgroup folder), is refused at its key',
    (name) => {
      const d = refusalOfSecondService(name, name);
      expect(d).toMatchObject({ hint: `rename it, e.g. \`${name.includes('.') ? name.replace('.', '-') : `${name}-service`}\`` });
      expect(d.message).toContain('a file the kernel keeps in every cgroup folder');
    },
  );

  test.each(['Web', 'a.b', '...', '_x', '-x', 'a-b_c.d', 'memory', 'Memory.max', 'my.memory.max'])('%j is accepted', (name) => {
    expect(validate(rawSpec(`services:\n  "${name}":\n    command: ["true"]\n`))).toEqual([]);
  });
});

const svc = 'services:\n  s: {command: ["true"]}\n';

describe('project names', () => {
  test('COMPOSE_PROJECT_NAME beats name: and the folder; -p beats it', async () => {
    const dir = tree({ 'Some Folder/compose.yaml': 'name: fromfile\n' + svc });
    const cwd = join(dir, 'Some Folder');
    expect((await loadRaw({ cwd, env: { COMPOSE_PROJECT_NAME: 'fromenv' } })).projectName).toBe('fromenv');
    expect((await loadRaw({ cwd, env: { COMPOSE_PROJECT_NAME: 'fromenv' }, projectName: 'flag' })).projectName).toBe('flag');
    expect((await loadRaw({ cwd, env: {} })).projectName).toBe('fromfile');
  });

  test('COMPOSE_PROJECT_NAME from the .env file counts too', async () => {
    const dir = tree({ 'compose.yaml': svc, '.env': 'COMPOSE_PROJECT_NAME=dotenv-name\n' });
    expect((await loadRaw({ cwd: dir, env: {} })).projectName).toBe('dotenv-name');
  });

  test('an invalid COMPOSE_PROJECT_NAME is an error, as an invalid -p (compose-go), never normalized', async () => {
    const dir = tree({ 'compose.yaml': svc });
    await expect(loadRaw({ cwd: dir, env: { COMPOSE_PROJECT_NAME: 'My.App' } })).rejects.toMatchObject({
      code: 'PROJECT_NAME',
      hint: 'try COMPOSE_PROJECT_NAME=myapp',
    });
    expect(() => resolveProjectName({ flag: 'a.b' })).toThrow(/invalid project name "a.b"/);
  });

  test('a project named like a cgroup file (stack/<project> is a folder) is refused from -p, the variable, name: and the folder', async () => {
    expect(() => resolveProjectName({ flag: 'tasks' })).toThrow(/invalid project name "tasks": "tasks" is the name of a file the kernel keeps in every cgroup folder/);
    await expect(loadRaw({ cwd: tree({ 'compose.yaml': svc }), env: { COMPOSE_PROJECT_NAME: 'notify_on_release' } })).rejects.toMatchObject({
      code: 'PROJECT_NAME',
      hint: 'try COMPOSE_PROJECT_NAME=notify_on_release-app',
    });
    await expect(loadRaw({ cwd: join(tree({ 'Tasks/compose.yaml': svc }), 'Tasks'), env: {} })).rejects.toMatchObject({
      code: 'PROJECT_NAME',
      hint: 'set `name:` in the spec or pass -p NAME',
    });
    const dir = tree({ 'compose.yaml': 'name: release_agent\n' + svc });
    await expect(loadRaw({ cwd: dir, env: {} })).rejects.toThrow(/invalid project name "release_agent"/);
  });

  test('a folder name is normalized as compose does: lowercased, invalid characters and leading _ - dropped', async () => {
    const dir = tree({ '_-My.Shop App/compose.yaml': svc });
    expect((await loadRaw({ cwd: join(dir, '_-My.Shop App'), env: {} })).projectName).toBe('myshopapp');
  });
});
