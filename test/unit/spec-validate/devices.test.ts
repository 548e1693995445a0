// `devices:` in the spec: Docker's short syntax HOST[:CONTAINER[:PERMISSIONS]] (a second field
// made of r, w and m is the permissions), the long {source, target, permissions}, and the
// errors a user sees with their place in the file.
import { describe, expect, it } from 'vitest';
import { parseDevice } from '../../../src/spec/devices.js';
import { normalize } from '../../../src/spec/normalize.js';
import { validate } from '../../../src/spec/validate.js';
import { rawSpec } from './raw-spec.js';

describe('parseDevice: short syntax', () => {
  it.each([
    ['/dev/fuse', '/dev/fuse', '/dev/fuse', 'rwm'],
    ['/dev/sdb:/dev/xvdb', '/dev/sdb', '/dev/xvdb', 'rwm'],
    ['/dev/sdb:r', '/dev/sdb', '/dev/sdb', 'r'],
    ['/dev/sdb:mw', '/dev/sdb', '/dev/sdb', 'mw'],
    ['/dev/sdb:/dev/xvdb:r', '/dev/sdb', '/dev/xvdb', 'r'],
    ['/dev/sdb:/dev/disk/../xvdb:rw', '/dev/sdb', '/dev/xvdb', 'rw'],
    ['/dev/sdb:rw:r', '/dev/sdb', '/dev/sdb', 'rw'], // Docker's CLI: a mode in the second field wins
    ['/dev//snd/', '/dev/snd/', '/dev/snd/', 'rwm'],
  ])('%s → %s at %s, %s', (spec, source, target, permissions) => {
    expect(parseDevice(spec)).toEqual({ ok: true, device: { source, target, permissions } });
  });

  it.each([
    ['dev/fuse', 'the host device "dev/fuse" is not an absolute path'],
    ['/dev/sdb:xvdb', 'the service path "xvdb" is not an absolute path'],
    ['/dev/sdb:/mnt/disk', 'is not a name under /dev'],
    ['/dev/sdb:/dev/../etc/shadow', 'is not a name under /dev'],
    ['/dev/sdb:/dev/pts/0', 'is not a name under /dev'],
    ['/dev/sdb:/dev/shm/x', 'is not a name under /dev'],
    ['/dev/sdb:/dev/xvdb:rx', '"rx" is not some of r, w and m'],
    ['/dev/sdb:/dev/xvdb:rr', '"rr" is not some of r, w and m'],
    ['/dev/sdb:/dev/xvdb:', '"" is not some of r, w and m'],
    ['/dev/a:/dev/b:r:x', 'more than three fields'],
    ['nvidia.com/gpu=all', 'CDI device name'],
  ])('%s is refused: %s', (spec, reason) => {
    const r = parseDevice(spec);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.reason).toContain(reason);
  });
});

describe('parseDevice: long syntax', () => {
  it('defaults the target to the source and the permissions to rwm', () => {
    expect(parseDevice({ source: '/dev/fuse' })).toEqual({ ok: true, device: { source: '/dev/fuse', target: '/dev/fuse', permissions: 'rwm' } });
    expect(parseDevice({ source: '/dev/sdb', target: '/dev/xvdb', permissions: 'r' })).toEqual({
      ok: true,
      device: { source: '/dev/sdb', target: '/dev/xvdb', permissions: 'r' },
    });
  });

  it('checks the same things as the short syntax', () => {
    expect(parseDevice({ source: '/dev/sdb', target: '/srv/x' })).toMatchObject({ ok: false });
    expect(parseDevice({ source: '/dev/sdb', permissions: 'rwx' })).toMatchObject({ ok: false });
    // ':' has no meaning in the long syntax: the whole string is the path
    expect(parseDevice({ source: '/dev/sdb:r' })).toEqual({ ok: true, device: { source: '/dev/sdb:r', target: '/dev/sdb:r', permissions: 'rwm' } });
  });
});

describe('devices: in a spec', () => {
  const load = (yaml: string) => {
    const raw = rawSpec(yaml);
    expect(validate(raw).filter((d) => d.severity === 'error')).toEqual([]);
    return normalize(raw, { profiles: [] });
  };

  it('become the service\'s device mappings, short and long alike', () => {
    const { project, diagnostics } = load('services:\n  web:\n    image: x\n    devices:\n      - /dev/fuse\n      - /dev/sdb:/dev/xvdb:r\n      - {source: /dev/net/tun, permissions: rw}\n');
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(project.services.web!.devices).toEqual([
      { source: '/dev/fuse', target: '/dev/fuse', permissions: 'rwm' },
      { source: '/dev/sdb', target: '/dev/xvdb', permissions: 'r' },
      { source: '/dev/net/tun', target: '/dev/net/tun', permissions: 'rw' },
    ]);
  });

  it('a bad entry is BAD_DEVICE at its line, with the syntax expected', () => {
    const { diagnostics } = load('services:\n  web:\n    image: x\n    devices:\n      - /dev/fuse\n      - /dev/sdb:/dev/xvdb:rx\n');
    const errors = diagnostics.filter((d) => d.severity === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      code: 'BAD_DEVICE',
      path: ['services', 'web', 'devices', 1],
      location: { line: 6 },
      message: expect.stringContaining('"rx" is not some of r, w and m'),
      expected: expect.stringContaining('HOST[:CONTAINER[:PERMISSIONS]]'),
    });
  });
});
