// The view's Node side: targets refused before anything starts, and the request keys that
// carry the view to the launcher (native/launcher/config.h reads them in this order).
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { checkTargets, viewRequestPairs, type ViewMount } from '../../../src/runtime/view.js';
import { testService } from '../../fixtures/launch/service.js';

const service = testService({ name: 'api', command: ['true'] });
const tmpfs = (target: string): ViewMount => ({ type: 'tmpfs', target, readOnly: false });

function refusal(targets: string[]): UserError | undefined {
  try {
    checkTargets(service, targets.map(tmpfs));
    return undefined;
  } catch (e) {
    return e as UserError;
  }
}

describe('volume targets', () => {
  it.each([
    ['data', 'service "api": volume target "data" is not an absolute path'],
    ['./data', 'service "api": volume target "./data" is not an absolute path'],
    ['/app/../etc', 'service "api": volume target "/app/../etc" contains `.` or `..`'],
    ['/app/./x', 'service "api": volume target "/app/./x" contains `.` or `..`'],
    ['/', 'service "api": volume target "/" is the root'],
    ['//', 'service "api": volume target "//" is the root'],
    ['/proc', 'service "api": volume target "/proc" is in /proc, which belongs to the kernel'],
    ['/proc/sys/x', 'service "api": volume target "/proc/sys/x" is in /proc, which belongs to the kernel'],
    ['//sys/', 'service "api": volume target "//sys/" is in /sys, which belongs to the kernel'],
  ])('refuses %s', (target, message) => {
    const e = refusal([target]);
    expect(e).toBeInstanceOf(UserError);
    expect(e?.code).toBe('MOUNT_TARGET');
    expect(e?.message).toBe(message);
    expect(e?.hint).toBeTruthy();
  });

  it('refuses two volumes on one target, however it is written', () => {
    expect(refusal(['/data', '/data/'])?.message).toBe('service "api": volume target "/data/" is the target of two volumes');
  });

  it('accepts absolute targets anywhere else, /dev and /tmp included', () => {
    expect(refusal(['/app', '/app/node_modules', '/var/lib/postgresql/data', '/dev/shm/x', '/tmp/cache', '/procfs', '/system'])).toBeUndefined();
  });
});

describe('view request keys', () => {
  it('carry read_only, the /etc files and each volume in order', () => {
    const pairs = viewRequestPairs(testService({ command: ['true'], readOnly: true }), {
      etcFiles: { hosts: '/run/stack/p/runtime/api/hosts', resolvConf: '/run/stack/p/runtime/api/resolv.conf' },
      mounts: [
        { type: 'bind', source: '/home/me/p/src', target: '/app', readOnly: false },
        { type: 'bind', source: '/var/lib/stack/volumes/p_db', target: '/data', readOnly: true },
        { type: 'tmpfs', target: '/cache', readOnly: false, sizeBytes: 1048576, mode: 0o1777 },
      ],
    });
    expect(pairs).toEqual([
      ['view', '1'],
      ['read_only', '1'],
      ['etc_hosts', '/run/stack/p/runtime/api/hosts'],
      ['etc_resolv_conf', '/run/stack/p/runtime/api/resolv.conf'],
      ['mount', 'bind'],
      ['mount_source', '/home/me/p/src'],
      ['mount_target', '/app'],
      ['mount', 'bind'],
      ['mount_source', '/var/lib/stack/volumes/p_db'],
      ['mount_target', '/data'],
      ['mount_read_only', '1'],
      ['mount', 'tmpfs'],
      ['mount_target', '/cache'],
      ['mount_size', '1048576'],
      ['mount_mode', '1777'],
    ]);
  });

  it('a writable service with no volumes still asks for the view', () => {
    expect(viewRequestPairs(service, { mounts: [] })).toEqual([['view', '1']]);
  });
});
