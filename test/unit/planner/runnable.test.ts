import { expect, test } from 'vitest';
import { assertRunnable, checkRunnable } from '../../../src/planner/runnable.js';
import { project, service } from './fixtures.js';

test('host-command and image services can run, an image service without a command too', () => {
  expect(checkRunnable(project([service('a'), service('b', { command: null, entrypoint: ['node'] }), service('db', { image: 'postgres:16', command: null })]))).toEqual([]);
  expect(checkRunnable(project([service('web', { image: 'web:1', build: { context: '/srv/web', args: {} }, command: null })]))).toEqual([]);
});

test('a service with only build: of a local folder can run (its image is built); a remote context is named, with a hint', () => {
  expect(checkRunnable(project([service('ok'), service('app', { build: { context: '/srv/app', args: {} }, command: null })]))).toEqual([]);
  const found = checkRunnable(project([service('ok'), service('app', { build: { context: 'https://github.com/x/y.git', args: {} }, command: null })]));
  expect(found.map((d) => [d.code, d.path?.join('.'), d.message])).toEqual([
    ['BUILD_CONTEXT_REMOTE', 'services.app.build.context', 'service "app" builds from https://github.com/x/y.git; stack builds only from a local folder'],
  ]);
  expect(found[0]?.hint).toMatch(/clone the repository/);
  expect(found[0]?.severity).toBe('error');
});

test('a service with nothing to run is an error', () => {
  const [d] = checkRunnable(project([service('idle', { command: null })]));
  expect(d).toMatchObject({ code: 'NO_COMMAND', message: 'service "idle" has nothing to run' });
});

test('assertRunnable throws every error at once as a spec error', () => {
  const p = project([service('a', { build: { context: 'git@host:a.git', args: {} } }), service('b', { command: null }), service('ok')]);
  expect(() => assertRunnable(p)).toThrowError(expect.objectContaining({ code: 'SPEC_INVALID' }));
  expect(() => assertRunnable(p)).toThrowError(/2 errors in the spec:[^]*"a" builds from git@host:a.git[^]*"b" has nothing to run/);
  expect(() => assertRunnable(project([service('ok')]))).not.toThrow();
});
