import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { SpecError } from '../../../src/spec/diagnostics.js';
import { loadRaw } from '../../../src/spec/load.js';
import { tree } from './tmp.js';

const FIX = resolve(__dirname, '../../fixtures/spec-load');

async function specError(p: Promise<unknown>): Promise<SpecError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(SpecError);
  return e as SpecError;
}

describe('extends', () => {
  test('same file, chains, other files with rebased paths, !reset', async () => {
    const dir = join(FIX, 'extends');
    const lib = join(dir, 'lib');
    const raw = await loadRaw({ cwd: dir, env: {} });
    const s = raw.doc.services as Record<string, unknown>;
    expect(s.web).toEqual({ image: 'base', environment: { A: '1', B: '2' }, ports: ['80:80', '81:81'], command: 'web' });
    expect(s.chain).toEqual({ image: 'base', environment: { A: '1', B: '2' }, ports: ['80:80', '81:81'], command: 'chain' });
    expect(s.reset).toEqual({ image: 'base', environment: { A: '1' } });
    expect(s.fromfile).toEqual({
      image: 'root:1',
      env_file: [join(lib, 'deeper/root.env'), join(lib, 'app.env')],
      working_dir: '/srv',
      build: join(lib, 'app'),
      volumes: [`${join(lib, 'data')}:/data`, 'named:/n', { type: 'bind', source: join(lib, 'conf'), target: '/conf' }],
      user: 'me',
    });
    // values keep the place they were written, in whichever file that was
    expect(raw.locate(['services', 'fromfile', 'image'])).toEqual({ file: join(lib, 'deeper/root.yaml'), line: 3, col: 12 });
    expect(raw.locate(['services', 'web', 'ports', 0])).toEqual({ file: join(dir, 'compose.yaml'), line: 7, col: 9 });
  });

  test('the extended file is interpolated with the project environment', async () => {
    const raw = await loadRaw({ cwd: join(FIX, 'extends'), env: { ROOT_TAG: '9' } });
    expect((raw.doc.services as Record<string, { image: string }>).fromfile!.image).toBe('root:9');
  });

  test('cycles are named; missing services and files are errors at the extends', async () => {
    const dir = join(FIX, 'extends-cycle');
    const err = await specError(loadRaw({ cwd: dir, env: {} }));
    const file = join(dir, 'compose.yaml');
    expect(err.diagnostics.map((d) => [d.code, d.message, d.location?.line])).toEqual([
      ['CYCLE', 'extends cycle: a -> b -> c -> a', 7],
      ['CYCLE', 'extends cycle: self -> self', 11],
      ['EXTENDS', 'service missing extends nowhere, which is not a service of this file', 13],
      ['FILE_NOT_FOUND', `cannot read extends file ${join(dir, 'not-there.yaml')}: no such file`, 16],
    ]);
    expect(err.diagnostics.every((d) => d.location?.file === file)).toBe(true);
    expect(err.message).toContain('compose.yaml:7:14: error: services.c.extends: extends cycle: a -> b -> c -> a');
  });

  test('a cycle across files names the files', async () => {
    const dir = join(FIX, 'extends-cycle');
    const err = await specError(loadRaw({ cwd: dir, env: {}, files: ['x.yaml'] }));
    expect(err.diagnostics.map((d) => d.message)).toEqual(['extends cycle: s (x.yaml) -> t (y.yaml) -> s (x.yaml)']);
  });

  test('an error in a file reached by two extends is reported once', async () => {
    const dir = tree({
      'a.yaml': 'services:\n  x:\n    extends: {file: base.yaml, service: b}\n',
      'c.yaml': 'services:\n  y:\n    extends: {file: base.yaml, service: b}\n',
      'base.yaml': 'services:\n  b:\n    image: ${oops!}\n',
    });
    const err = await specError(loadRaw({ cwd: dir, env: {}, files: ['a.yaml', 'c.yaml'] }));
    expect(err.diagnostics.map((d) => [d.code, d.location?.file, d.location?.line])).toEqual([['INTERPOLATION', join(dir, 'base.yaml'), 3]]);
  });

  test('a bad extends value is an error', async () => {
    const dir = tree({ 'compose.yaml': 'services:\n  a:\n    extends: [x]\n' });
    const err = await specError(loadRaw({ cwd: dir, env: {} }));
    expect(err.diagnostics[0]).toMatchObject({ code: 'EXTENDS', location: { line: 3, col: 14 } });
  });
});

describe('include', () => {
  test("included resources join; paths and .env are the included project's", async () => {
    const dir = join(FIX, 'include');
    const raw = await loadRaw({ cwd: dir, env: {} });
    expect(raw.projectName).toBe('include');
    expect(raw.doc).toEqual({
      services: {
        web: { image: 'web', depends_on: ['db'] },
        db: { image: 'db:15', volumes: [`${join(dir, 'sub/data')}:/var/lib/db`], env_file: join(dir, 'sub/db.env') },
        cache: { image: 'cache:7', build: join(dir, 'other') },
      },
      volumes: { dbdata: {} },
      networks: { back: {} },
    });
    expect(raw.locate(['services', 'db', 'image'])).toEqual({ file: join(dir, 'sub/compose.yaml'), line: 4, col: 12 });
  });

  test('the process environment wins over the included .env', async () => {
    const raw = await loadRaw({ cwd: join(FIX, 'include'), env: { DB_TAG: '16' } });
    expect((raw.doc.services as Record<string, { image: string }>).db!.image).toBe('db:16');
  });

  test('a resource defined differently on both sides is an error; identical ones are fine', async () => {
    const dir = join(FIX, 'include-conflict');
    const err = await specError(loadRaw({ cwd: dir, env: {} }));
    expect(err.diagnostics).toHaveLength(1);
    expect(err.diagnostics[0]).toMatchObject({
      code: 'INCLUDE_CONFLICT',
      path: ['services', 'db'],
      location: { file: join(dir, 'compose.yaml'), line: 6, col: 3 },
    });
    expect(err.diagnostics[0]!.message).toContain('inc.yaml:4:3');
  });

  test('include cycles are named', async () => {
    const dir = join(FIX, 'include-cycle');
    const err = await specError(loadRaw({ cwd: dir, env: {}, files: ['a.yaml'] }));
    expect(err.diagnostics.map((d) => [d.code, d.message, d.location?.file, d.location?.line])).toEqual([
      ['CYCLE', 'include cycle: a.yaml -> b.yaml -> a.yaml', join(dir, 'b.yaml'), 2],
    ]);
  });

  test('a missing included file is an error at the include entry', async () => {
    const dir = tree({ 'compose.yaml': 'include:\n  - nope.yaml\nservices: {}\n' });
    const err = await specError(loadRaw({ cwd: dir, env: {} }));
    expect(err.diagnostics[0]).toMatchObject({ code: 'FILE_NOT_FOUND', location: { line: 2, col: 5 } });
  });

  test('long syntax with several paths merges them as one application', async () => {
    const dir = tree({
      'compose.yaml': 'include:\n  - path: [lib/a.yaml, lib/b.yaml]\n',
      'lib/a.yaml': 'services:\n  x: {image: a, volumes: ["./v:/v"]}\n',
      'lib/b.yaml': 'services:\n  x: {user: b}\n',
    });
    const raw = await loadRaw({ cwd: dir, env: {} });
    expect(raw.doc).toEqual({ services: { x: { image: 'a', user: 'b', volumes: [`${dir}/lib/v:/v`] } } });
  });

  test('project_directory decides what relative paths of the included file mean', async () => {
    const dir = tree({
      'compose.yaml': 'include:\n  - project_directory: ../subdir\n    path: ./dir/compose.yaml\n',
      'dir/compose.yaml': 'services:\n  s:\n    image: "i:${T}"\n    env_file: extra.env\n    volumes: [{type: bind, source: ., target: /mnt}]\n',
    });
    const sub = join(dir, '..', 'subdir');
    const raw = await loadRaw({ cwd: dir, env: { T: '1' } });
    expect(raw.doc).toEqual({
      services: { s: { image: 'i:1', env_file: join(sub, 'extra.env'), volumes: [{ type: 'bind', source: sub, target: '/mnt' }] } },
    });
  });

  test('a missing include env_file is an error at the include entry', async () => {
    const dir = tree({
      'compose.yaml': 'include:\n  - path: inc.yaml\n    env_file: nope.env\n',
      'inc.yaml': 'services:\n  s: {image: x}\n',
    });
    const err = await specError(loadRaw({ cwd: dir, env: {} }));
    expect(err.diagnostics.map((d) => [d.code, d.message, d.location?.line, d.location?.col])).toEqual([
      ['ENV_FILE', `cannot read env file ${join(dir, 'nope.env')}: no such file`, 2, 5],
    ]);
  });

  test('an included file may extend a service of a file next to it', async () => {
    const dir = tree({
      'compose.yaml': 'include:\n  - path:\n      - dir/included.yaml\n',
      'dir/included.yaml': 'services:\n  service:\n    extends:\n      file: extended.yaml\n      service: service\n',
      'dir/extended.yaml': 'services:\n  service:\n    build: .\n',
    });
    const raw = await loadRaw({ cwd: dir, env: {} });
    expect(raw.doc).toEqual({ services: { service: { build: join(dir, 'dir') } } });
  });
});
