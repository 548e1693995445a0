import { expect, test } from 'vitest';
import { assertRunnable, checkRunnable } from '../../../src/planner/runnable.js';
import { project, service } from './fixtures.js';

test('host-command and image services can run, an image service without a command too', () => {
  expect(checkRunnable(project([service('a'), service('b', { command: null, entrypoint: ['node'] }), service('db', { image: 'postgres:16', command: null })]))).toEqual([]);
  expect(checkRunnable(project([service('web', { image: 'web:1', build: { context: '/srv/web', args: {} }, command: null })]))).toEqual([]);
});

test('a service with only build: is named, with its context and a hint to build elsewhere', () => {
  const found = checkRunnable(project([service('ok'), service('app', { build: { context: '/srv/app', args: {} } })]));
  expect(found.map((d) => [d.code, d.path?.join('.'), d.message])).toEqual([
    ['NEEDS_BUILD', 'services.app.build', 'service "app" needs a build of /srv/app; stack does not build images'],
  ]);
  expect(found[0]?.hint).toMatch(/build the image with another tool .* name it in `image:`/);
  expect(found[0]?.severity).toBe('error');
});

test('a service with nothing to run is an error', () => {
  const [d] = checkRunnable(project([service('idle', { command: null })]));
  expect(d).toMatchObject({ code: 'NO_COMMAND', message: 'service "idle" has nothing to run' });
});

test('assertRunnable throws every error at once as a spec error', () => {
  const p = project([service('a', { build: { context: '/a', args: {} } }), service('b', { build: { context: '/b', args: {} } }), service('ok')]);
  expect(() => assertRunnable(p)).toThrowError(expect.objectContaining({ code: 'SPEC_INVALID' }));
  expect(() => assertRunnable(p)).toThrowError(/2 errors in the spec:[^]*"a" needs a build of \/a[^]*"b" needs a build of \/b/);
  expect(() => assertRunnable(project([service('ok')]))).not.toThrow();
});
