import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { discoverSpecFiles, SPEC_FILE_NAMES } from '../../../src/spec/discover.js';
import { loadRaw } from '../../../src/spec/load.js';
import { normalizeProjectName } from '../../../src/spec/project-name.js';
import { tree } from './tmp.js';

const svc = 'services:\n  s: {image: x}\n';

describe('discovery', () => {
  test.each([
    [['stack.yaml', 'compose.yaml'], 'stack.yaml'],
    [['stack.yml', 'compose.yaml'], 'stack.yml'],
    [['compose.yml', 'docker-compose.yaml'], 'compose.yml'],
    [['docker-compose.yml', 'docker-compose.yaml'], 'docker-compose.yaml'],
    [['docker-compose.yml'], 'docker-compose.yml'],
  ])('%j → %s', (names, chosen) => {
    const dir = tree(Object.fromEntries(names.map((n) => [n, svc])));
    expect(discoverSpecFiles(dir).files).toEqual([join(dir, chosen)]);
  });

  test('searches the parents; the project folder is where the file is', async () => {
    const dir = tree({ 'compose.yaml': svc });
    const deep = join(dir, 'a', 'b');
    mkdirSync(deep, { recursive: true });
    const raw = await loadRaw({ cwd: deep, env: {} });
    expect(raw.files).toEqual([join(dir, 'compose.yaml')]);
    expect(raw.workingDir).toBe(dir);
  });

  test('the nearest folder wins over a parent', () => {
    const dir = tree({ 'compose.yaml': svc, 'sub/stack.yml': svc });
    expect(discoverSpecFiles(join(dir, 'sub')).files).toEqual([join(dir, 'sub/stack.yml')]);
  });

  test.each([
    [['compose.yaml', 'compose.override.yaml'], ['compose.yaml', 'compose.override.yaml']],
    [['compose.yaml', 'compose.override.yml'], ['compose.yaml', 'compose.override.yml']],
    [['stack.yml', 'stack.override.yml', 'stack.override.yaml'], ['stack.yml', 'stack.override.yml']],
    [['docker-compose.yml', 'docker-compose.override.yml'], ['docker-compose.yml', 'docker-compose.override.yml']],
    [['stack.yaml', 'compose.override.yaml'], ['stack.yaml']],
  ])('override sibling: %j → %j', (names, files) => {
    const dir = tree(Object.fromEntries(names.map((n) => [n, svc])));
    expect(discoverSpecFiles(dir).files).toEqual(files.map((f) => join(dir, f)));
  });

  test('the override sibling merges over the main file', async () => {
    const dir = tree({ 'compose.yaml': svc, 'compose.override.yaml': 'services:\n  s: {user: u}\n' });
    const raw = await loadRaw({ cwd: dir, env: {} });
    expect(raw.doc).toEqual({ services: { s: { image: 'x', user: 'u' } } });
  });

  test('several candidates in one folder: a warning names the one used', async () => {
    const dir = tree({ 'compose.yaml': svc, 'docker-compose.yml': svc });
    const raw = await loadRaw({ cwd: dir, env: {} });
    expect(raw.warnings.map((w) => w.message)).toEqual([`found compose.yaml, docker-compose.yml in ${dir}; using compose.yaml`]);
  });

  test('-f files are used as given, relative to cwd, without override siblings', () => {
    const dir = tree({ 'x/one.yaml': svc, 'compose.yaml': svc, 'compose.override.yaml': svc });
    expect(discoverSpecFiles(dir, ['x/one.yaml', 'compose.yaml']).files).toEqual([join(dir, 'x/one.yaml'), join(dir, 'compose.yaml')]);
  });

  // Someone's stray /tmp/compose.yaml would be found by the parent search.
  const strayInParents = [tmpdir(), dirname(tmpdir()), '/'].some((d) => SPEC_FILE_NAMES.some((n) => existsSync(join(d, n))));
  test.skipIf(strayInParents)('nothing found → SPEC_NOT_FOUND with a hint', () => {
    const dir = tree({ README: 'no spec here' });
    let err: unknown;
    try {
      discoverSpecFiles(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect(err).toMatchObject({ code: 'SPEC_NOT_FOUND', hint: expect.stringContaining('-f') });
  });

  test('a missing -f file → SPEC_NOT_FOUND naming it', () => {
    const dir = tree({});
    expect(() => discoverSpecFiles(dir, ['nope.yaml'])).toThrow(expect.objectContaining({ code: 'SPEC_NOT_FOUND', message: expect.stringContaining(join(dir, 'nope.yaml')) }));
  });

  test('-f - reads the spec from standard input; the project folder is cwd', async () => {
    const dir = tree({ 'over.yaml': 'services:\n  s: {user: u}\n' });
    const raw = await loadRaw({ cwd: dir, env: {}, files: ['-', 'over.yaml'], stdin: 'services:\n  s: {image: "in"}\n' });
    expect(raw.files).toEqual(['<stdin>', join(dir, 'over.yaml')]);
    expect(raw.workingDir).toBe(dir);
    expect(raw.doc).toEqual({ services: { s: { image: 'in', user: 'u' } } });
    expect(raw.locate(['services', 's', 'image'])).toEqual({ file: '<stdin>', line: 2, col: 14 });
  });

  test('without -f, --project-directory is where the search starts', async () => {
    const dir = tree({ 'proj/compose.yaml': svc });
    const raw = await loadRaw({ cwd: dir, env: {}, projectDirectory: 'proj' });
    expect(raw.files).toEqual([join(dir, 'proj/compose.yaml')]);
  });

  test('--project-directory moves the project folder (and its .env)', async () => {
    const dir = tree({ 'specs/compose.yaml': 'services:\n  s: {image: "${IMG}"}\n', 'proj/.env': 'IMG=from-proj\n' });
    const raw = await loadRaw({ cwd: dir, env: {}, files: ['specs/compose.yaml'], projectDirectory: 'proj' });
    expect(raw.workingDir).toBe(join(dir, 'proj'));
    expect(raw.projectName).toBe('proj');
    expect(raw.doc).toEqual({ services: { s: { image: 'from-proj' } } });
  });
});

describe('project name', () => {
  test.each([
    ['My_App', 'my_app'],
    ['-_x', 'x'],
    ['Hello World!', 'helloworld'],
    ['a.b', 'ab'],
    ['___', ''],
  ])('normalize %j → %j', (input, out) => {
    expect(normalizeProjectName(input)).toBe(out);
  });

  test('-p wins over name: and the folder', async () => {
    const dir = tree({ 'compose.yaml': 'name: fromfile\n' + svc });
    expect((await loadRaw({ cwd: dir, env: {}, projectName: 'flag' })).projectName).toBe('flag');
  });

  test('name: (interpolated) wins over the folder; the last file with name: wins', async () => {
    const dir = tree({ 'a.yaml': 'name: first\n' + svc, 'b.yaml': 'name: ${N}-x\n' });
    const raw = await loadRaw({ cwd: dir, env: { N: 'second' }, files: ['a.yaml', 'b.yaml'] });
    expect(raw.projectName).toBe('second-x');
    expect(raw.env.COMPOSE_PROJECT_NAME).toBe('second-x');
  });

  test('${COMPOSE_PROJECT_NAME} is available to interpolation', async () => {
    const dir = tree({ 'My Project/compose.yaml': 'services:\n  s: {hostname: "${COMPOSE_PROJECT_NAME}-s"}\n' });
    const raw = await loadRaw({ cwd: join(dir, 'My Project'), env: {} });
    expect(raw.projectName).toBe('myproject');
    expect(raw.doc).toEqual({ services: { s: { hostname: 'myproject-s' } } });
  });

  test('an invalid -p is an error with a hint', async () => {
    const dir = tree({ 'compose.yaml': svc });
    await expect(loadRaw({ cwd: dir, env: {}, projectName: 'My App' })).rejects.toMatchObject({
      code: 'PROJECT_NAME',
      hint: 'try -p myapp',
    });
  });

  test('an invalid name: is an error at its place', async () => {
    const dir = tree({ 'compose.yaml': svc + 'name: Bad.Name\n' });
    await expect(loadRaw({ cwd: dir, env: {} })).rejects.toMatchObject({
      diagnostics: [expect.objectContaining({ code: 'PROJECT_NAME', location: { file: join(dir, 'compose.yaml'), line: 3, col: 7 }, hint: 'try name: badname' })],
    });
  });

  test('a folder name with nothing usable asks for -p', async () => {
    const dir = tree({ '___/compose.yaml': svc });
    await expect(loadRaw({ cwd: join(dir, '___'), env: {} })).rejects.toMatchObject({ code: 'PROJECT_NAME' });
  });
});
