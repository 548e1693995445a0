// Top-level secrets/configs and the services' references: the model, defaults and every error
// with its place, expected text and hint.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { loadProject, SpecError } from '../../../src/spec/index.js';
import { describeChange, hashService } from '../../../src/planner/hash.js';
import { normalize } from '../../../src/spec/normalize.js';
import type { SecretMount } from '../../../src/spec/project.js';
import { checkSecretSources } from '../../../src/planner/runnable.js';
import { validate } from '../../../src/spec/validate.js';
import { rawSpec } from './raw-spec.js';

const dir = mkdtempSync(join(tmpdir(), 'stack-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'pw.txt'), 'pw');

function load(yaml: string, env: Record<string, string> = {}) {
  const raw = rawSpec(yaml, { env, workingDir: dir });
  const structural = validate(raw).filter((d) => d.severity === 'error');
  if (structural.length > 0) return { project: undefined, diagnostics: structural };
  return normalize(raw);
}

const errors = (yaml: string, env: Record<string, string> = {}) => load(yaml, env).diagnostics.filter((d) => d.severity === 'error');
const warnings = (yaml: string, env: Record<string, string> = {}) => load(yaml, env).diagnostics.filter((d) => d.severity === 'warning');

const BASE = `secrets:
  db_password: {file: ./pw.txt}
  api_key: {environment: API_KEY}
configs:
  app_conf: {content: "a = 1"}
`;

describe('secrets and configs: the model', () => {
  test('short and long syntax with their default targets; an environment source keeps the variable name only', () => {
    const { project, diagnostics } = load(
      `services:\n  app:\n    command: [x]\n    secrets: [db_password, {source: api_key, target: key, uid: "1000", gid: 1000, mode: "0440"}]\n    configs: [app_conf, {source: app_conf, target: /etc/app.conf}]\n${BASE}`,
      { API_KEY: 'the-value' },
    );
    expect(diagnostics).toEqual([]);
    const app = project!.services.app!;
    const plain = (list: readonly SecretMount[] | undefined) => list?.map(({ definition: _, ...m }) => m);
    expect(plain(app.secrets)).toEqual([
      { source: 'db_password', target: '/run/secrets/db_password' },
      { source: 'api_key', target: '/run/secrets/key', uid: 1000, gid: 1000, mode: 0o440 },
    ]);
    expect(plain(app.configs)).toEqual([
      { source: 'app_conf', target: '/app_conf' },
      { source: 'app_conf', target: '/etc/app.conf' },
    ]);
    expect(project!.secrets).toEqual({
      api_key: { key: 'api_key', kind: 'secret', name: 'proj_api_key', source: { type: 'environment', variable: 'API_KEY' } },
      db_password: { key: 'db_password', kind: 'secret', name: 'proj_db_password', source: { type: 'file', path: join(dir, 'pw.txt') } },
    });
    expect(project!.configs!.app_conf!.source).toEqual({ type: 'content', content: 'a = 1' });
    expect(JSON.stringify(project)).not.toContain('the-value');
  });

  test('a service without secrets has none in its model; external ones keep their key as name', () => {
    const { project } = load('services:\n  app:\n    command: [x]\n  other:\n    command: [x]\n    secrets: [ext]\nsecrets:\n  ext: {external: true}\n');
    expect(project!.services.app!.secrets).toBeUndefined();
    expect(project!.secrets!.ext).toEqual({ key: 'ext', kind: 'secret', name: 'ext', source: { type: 'external' } });
  });
});

describe('secrets and configs: recreating', () => {
  test("a changed definition (content, file, variable name) changes the service's hash, saying `configs`; the variable's value does not", () => {
    const spec = (content: string, variable: string) => `services:\n  app:\n    command: [x]\n    configs: [c]\n    secrets: [s]\nconfigs:\n  c: {content: "${content}"}\nsecrets:\n  s: {environment: ${variable}}\n`;
    const stamp = (content: string, variable: string, env: Record<string, string>) => hashService(load(spec(content, variable), env).project!.services.app!);
    const base = stamp('a', 'V', { V: '1', W: '1' });
    expect(stamp('a', 'V', { V: '2', W: '1' })).toEqual(base);
    expect(describeChange(base, stamp('b', 'V', { V: '1', W: '1' }))).toContain('configs');
    expect(describeChange(base, stamp('a', 'W', { V: '1', W: '1' }))).toContain('secrets');
  });
});

describe('secrets and configs: bad input, all at once', () => {
  test('an undefined name says which exist and suggests the nearest', () => {
    const errs = errors(`services:\n  app:\n    command: [x]\n    secrets: [db_pasword]\n    configs: [{source: nope}]\n${BASE}`);
    expect(errs.map((e) => [e.code, e.path, e.location?.line])).toEqual([
      ['UNDEFINED_SECRET', ['services', 'app', 'secrets', 0], 4],
      ['UNDEFINED_CONFIG', ['services', 'app', 'configs', 0, 'source'], 5],
    ]);
    expect(errs[0]!.hint).toBe('did you mean `db_password`?');
    expect(errs[0]!.expected).toBe('one of: api_key, db_password');
  });

  test('a relative config target, a bad mode, a bad uid, a definition with no or two sources', () => {
    const errs = errors(
      `services:\n  app:\n    command: [x]\n    configs: [{source: c, target: etc/c}]\n    secrets: [{source: s, mode: 99999}, {source: s, uid: root}]\nsecrets:\n  s: {environment: X}\n  none: {}\nconfigs:\n  c: {content: x, file: ./pw.txt}\n`,
      { X: '1' },
    );
    expect(errs.map((e) => `${e.location?.line} ${e.code} ${e.path?.join('.')}`).sort()).toEqual([
      '10 BAD_SECRET configs.c',
      '4 BAD_PATH services.app.configs.0.target',
      '5 BAD_VALUE services.app.secrets.0.mode',
      '5 BAD_VALUE services.app.secrets.1.uid',
      '8 BAD_SECRET secrets.none',
    ]);
    const path = errs.find((e) => e.code === 'BAD_PATH')!;
    expect(path.expected).toContain('absolute path');
    expect(errs.find((e) => e.path?.join('.') === 'secrets.none')!.expected).toBe('exactly one of `file` or `environment`');
  });

  test('a mode that is not octal is refused by the schema with what was expected', () => {
    const errs = errors('services:\n  app:\n    command: [x]\n    secrets: [{source: s, mode: "rwx"}]\nsecrets:\n  s: {file: ./pw.txt}\n');
    expect(errs.map((e) => [e.code, e.path?.join('.'), e.expected])).toEqual([['BAD_VALUE', 'services.app.secrets.0.mode', 'an octal file mode such as 0400 or 0440']]);
  });

  test('`content` is for configs only; an unknown key of a secret is named', () => {
    const errs = errors('secrets:\n  s: {content: x}\n  t: {file: ./pw.txt, drivr: x}\n');
    expect(errs.map((e) => e.code).sort()).toEqual(['UNKNOWN_KEY', 'UNKNOWN_KEY']);
  });

  test('config warns about a missing file and an unset variable; uid/gid/mode on a file source are warned as ignored', () => {
    const warns = warnings(`services:\n  app:\n    command: [x]\n    secrets: [{source: db_password, mode: "0400"}, gone, unset]\nsecrets:\n  db_password: {file: ./pw.txt}\n  gone: {file: ./gone.txt}\n  unset: {environment: NOT_SET_ANYWHERE}\n`);
    expect(warns.map((w) => w.code).sort()).toEqual(['IGNORED_FOR_FILE', 'SECRET_FILE_MISSING', 'SECRET_VARIABLE_UNSET']);
    const { project } = load(`services:\n  app:\n    command: [x]\n    secrets: [{source: db_password, mode: "0400"}]\nsecrets:\n  db_password: {file: ./pw.txt}\n`);
    expect(project!.services.app!.secrets).toMatchObject([{ source: 'db_password', target: '/run/secrets/db_password' }]);
    expect(project!.services.app!.secrets![0]).not.toHaveProperty('mode');
  });

  test('up refuses, all at once and naming each: a missing file, an unset variable, an external one', () => {
    const { project } = load(
      `services:\n  app:\n    command: [x]\n    secrets: [gone, unset, ext, db_password]\nsecrets:\n  db_password: {file: ./pw.txt}\n  gone: {file: ./gone.txt}\n  unset: {environment: NOT_SET_ANYWHERE}\n  ext: {external: true}\n`,
    );
    const found = checkSecretSources(project!);
    expect(found.map((d) => d.code)).toEqual(['SECRET_FILE_MISSING', 'SECRET_VARIABLE_UNSET', 'EXTERNAL_SECRET']);
    expect(found[0]!.message).toContain(join(dir, 'gone.txt'));
    expect(found[2]!.message).toContain('no secret store');
  });
});

describe('secrets from a real file', () => {
  test('mode 0440 is octal as compose reads it (not YAML 1.2 decimal 440); config prints it back', async () => {
    writeFileSync(join(dir, 'compose.yaml'), 'services:\n  app:\n    command: [x]\n    secrets:\n      - source: s\n        mode: 0440\n      - source: s\n        target: /run/secrets/t\n        mode: 292\nsecrets:\n  s: {content: x}\n');
    const bad = await loadProject({ cwd: dir, files: ['compose.yaml'], env: {} }).catch((e: unknown) => e);
    // `content` is not a key of a secret: refused with its place.
    expect(bad).toBeInstanceOf(SpecError);
    writeFileSync(join(dir, 'compose.yaml'), 'services:\n  app:\n    command: [x]\n    secrets:\n      - source: s\n        mode: 0440\n      - source: s\n        target: /run/secrets/t\n        mode: 292\nsecrets:\n  s: {environment: S}\n');
    const { project } = await loadProject({ cwd: dir, files: ['compose.yaml'], env: { S: 'v' } });
    expect(project.services.app!.secrets!.map((m) => m.mode)).toEqual([0o440, 0o444]);
  });
});
