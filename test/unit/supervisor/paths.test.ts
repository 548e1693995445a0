// Where a project's supervisor keeps its files and which socket names it binds.
import { describe, expect, it } from 'vitest';
import { isAbstract, supervisorPaths } from '../../../src/supervisor/paths.js';

describe('supervisor paths', () => {
  it('lives in the project run folder, with a control socket file there', () => {
    const p = supervisorPaths({ run: '/run/stack', lib: '/var/lib/stack' }, 'shop');
    expect(p).toMatchObject({
      dir: '/run/stack/shop/supervisor',
      pidFile: '/run/stack/shop/supervisor/pid.json',
      socket: '/run/stack/shop/supervisor/control.sock',
      log: '/run/stack/shop/supervisor/supervisor.log',
    });
    expect(isAbstract(p.socket)).toBe(false);
    expect(isAbstract(p.mutex)).toBe(true);
  });

  it('two state roots never share a mutex; a path too long for a socket address turns abstract', () => {
    const a = supervisorPaths({ run: '/tmp/a/run', lib: '/tmp/a/lib' }, 'shop');
    const b = supervisorPaths({ run: '/tmp/b/run', lib: '/tmp/b/lib' }, 'shop');
    expect(a.mutex).not.toBe(b.mutex);
    const long = supervisorPaths({ run: `/tmp/${'x'.repeat(90)}/run`, lib: '/tmp/lib' }, 'shop');
    expect(isAbstract(long.socket)).toBe(true);
    expect(long.socket).not.toBe(long.mutex);
  });
});
