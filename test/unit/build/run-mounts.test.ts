// RUN --mount values (src/build/run-mounts.ts) as BuildKit reads them: types and their fields,
// defaults, aliases, Go's booleans, targets resolved against the working folder, and refusals.
import { describe, expect, it } from 'vitest';
import { parseRunMount, RunMountError } from '../../../src/build/run-mounts.js';

describe('parseRunMount', () => {
  it('a cache mount: id defaults to the target as written, mode 0755, shared; fields in any case', () => {
    expect(parseRunMount('type=cache,target=node_modules', '/app')).toEqual({ type: 'cache', target: '/app/node_modules', id: 'node_modules', readOnly: false, mode: 0o755, uid: 0, gid: 0, sharing: 'shared' });
    expect(parseRunMount('type=CACHE,dst=/var/cache/apt,id=apt,sharing=LOCKED,mode=0700,uid=100,gid=101,ro', '/')).toEqual({ type: 'cache', target: '/var/cache/apt', id: 'apt', readOnly: true, mode: 0o700, uid: 100, gid: 101, sharing: 'locked' });
    expect(parseRunMount('type=cache,target=/c,readonly=FALSE', '/')).toMatchObject({ readOnly: false });
  });

  it('a bind mount: the context root by default, read-only unless rw (its writes go to a copy)', () => {
    expect(parseRunMount('target=/src', '/')).toEqual({ type: 'bind', target: '/src', source: '.', writable: false });
    expect(parseRunMount('type=bind,src=pkg,target=/pkg,from=build,rw', '/')).toEqual({ type: 'bind', target: '/pkg', source: 'pkg', from: 'build', writable: true });
    expect(parseRunMount('type=bind,target=/pkg,readonly=false', '/')).toMatchObject({ writable: true });
    expect(parseRunMount('type=bind,target=/pkg,rw=f', '/')).toMatchObject({ writable: false });
  });

  it('a secret mount: /run/secrets/<id>, 0400, optional unless required; the id from the target when not given', () => {
    expect(parseRunMount('type=secret,id=npmrc', '/app')).toEqual({ type: 'secret', id: 'npmrc', target: '/run/secrets/npmrc', required: false, mode: 0o400, uid: 0, gid: 0 });
    expect(parseRunMount('type=secret,target=/root/.npmrc,required,mode=0440,uid=1000', '/')).toEqual({ type: 'secret', id: '.npmrc', target: '/root/.npmrc', required: true, mode: 0o440, uid: 1000, gid: 0 });
    expect(() => parseRunMount('type=secret', '/')).toThrow(/no id/);
  });

  it('a tmpfs mount with its size', () => {
    expect(parseRunMount('type=tmpfs,target=/tmp/x,size=64m', '/')).toEqual({ type: 'tmpfs', target: '/tmp/x', sizeBytes: 64 * 1024 * 1024 });
  });

  it.each([
    ['type=ssh', /type=ssh is not supported by stack/],
    ['type=volume,target=/x', /unknown type "volume"/],
    ['type=cache', /no target/],
    ['type=cache,target=/', /the target is the root/],
    ['type=tmpfs,target=/x,id=y', /"id" is not a field of a tmpfs mount/],
    ['type=cache,target=/x,sharing=sometimes', /sharing=sometimes is not shared, private or locked/],
    ['type=cache,target=/x,mode=rwx', /mode=rwx is not an octal mode/],
    ['type=cache,target=/x,ro=maybe', /"maybe" is not true or false/],
    ['type=cache,target=/x,target=/y', /"target" is given twice/],
  ])('%s is refused', (text, message) => {
    expect(() => parseRunMount(text, '/')).toThrow(RunMountError);
    expect(() => parseRunMount(text, '/')).toThrow(message);
  });
});
