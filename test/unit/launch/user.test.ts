import { describe, expect, it } from 'vitest';
import { parseGroup, parsePasswd, resolveUser, type UserDb } from '../../../src/runtime/user.js';
import { UserError } from '../../../src/errors.js';

const db: UserDb = {
  passwd: parsePasswd(
    ['root:x:0:0:root:/root:/bin/bash', 'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin', '# comment', 'broken line',
      'postgres:x:105:110::/var/lib/postgresql:/bin/bash', 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin'].join('\n'),
  ),
  group: parseGroup(['root:x:0:', 'daemon:x:1:', 'ssl-cert:x:108:postgres', 'postgres:x:110:', 'audio:x:29:postgres,daemon', 'nogroup:x:65534:'].join('\n')),
};

describe('resolveUser (runc GetExecUser rules)', () => {
  it.each([
    [undefined, { uid: 0, gid: 0, groups: [] }],
    ['postgres', { uid: 105, gid: 110, groups: [108, 29] }],
    ['105', { uid: 105, gid: 110, groups: [108, 29] }],
    ['daemon', { uid: 1, gid: 1, groups: [29] }],
    ['nobody', { uid: 65534, gid: 65534, groups: [] }],
    ['postgres:audio', { uid: 105, gid: 29, groups: [] }],
    ['postgres:4242', { uid: 105, gid: 4242, groups: [] }],
    ['1234', { uid: 1234, gid: 0, groups: [] }],
    ['1234:5678', { uid: 1234, gid: 5678, groups: [] }],
  ])('user %j → %j', (spec, identity) => {
    expect(resolveUser('db', spec, db)).toEqual(identity);
  });

  it('an unknown user name is a UserError', () => {
    expect(() => resolveUser('db', 'pgsql', db)).toThrowError(expect.objectContaining({ code: 'USER_UNKNOWN', message: expect.stringContaining('service "db": user "pgsql"') }));
  });

  it('an unknown group name is a UserError', () => {
    expect(() => resolveUser('db', 'postgres:wheel', db)).toThrowError(UserError);
  });

  it('skips malformed lines', () => {
    expect(db.passwd.map((p) => p.name)).toEqual(['root', 'daemon', 'postgres', 'nobody']);
  });
});
