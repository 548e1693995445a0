import { expect, test } from 'vitest';
import { assertRunnable, checkRunnable } from '../../../src/planner/runnable.js';
import { project, service } from './fixtures.js';

test('host-command services can run', () => {
  expect(checkRunnable(project([service('a'), service('b', { command: null, entrypoint: ['node'] })]))).toEqual([]);
});

test('every service that needs an image is named, with its image and a hint', () => {
  const found = checkRunnable(
    project([
      service('db', { image: 'postgres:16-alpine', command: null }),
      service('ok'),
      service('app', { build: { context: '/srv/app', args: {} } }),
    ]),
  );
  expect(found.map((d) => [d.code, d.path?.join('.'), d.message])).toEqual([
    ['NEEDS_IMAGE', 'services.app.build', 'service "app" needs a build of /srv/app to run; stack runs host programs only for now'],
    ['NEEDS_IMAGE', 'services.db.image', 'service "db" needs image "postgres:16-alpine" to run; stack runs host programs only for now'],
  ]);
  expect(found[1]?.hint).toBe(
    'images come later: remove `image:` and give "db" a host `command:`, e.g. command: ["postgres", ...]',
  );
  expect(found.every((d) => d.severity === 'error')).toBe(true);
});

test('a service with nothing to run is an error', () => {
  const [d] = checkRunnable(project([service('idle', { command: null })]));
  expect(d).toMatchObject({ code: 'NO_COMMAND', message: 'service "idle" has nothing to run' });
});

test('assertRunnable throws every error at once as a spec error', () => {
  const p = project([service('db', { image: 'postgres:16' }), service('cache', { image: 'redis:7' }), service('ok')]);
  expect(() => assertRunnable(p)).toThrowError(expect.objectContaining({ code: 'SPEC_INVALID' }));
  expect(() => assertRunnable(p)).toThrowError(/2 errors in the spec:[^]*"cache" needs image "redis:7"[^]*"db" needs image "postgres:16"/);
  expect(() => assertRunnable(project([service('ok')]))).not.toThrow();
});
