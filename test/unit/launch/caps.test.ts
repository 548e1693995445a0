import { describe, expect, it } from 'vitest';
import { ALL_CAPABILITIES, capabilityMask, DEFAULT_CAPABILITIES, serviceCapabilities } from '../../../src/runtime/caps.js';
import { UserError } from '../../../src/errors.js';

const caps = (capAdd: string[], capDrop: string[]) => serviceCapabilities({ name: 'web', capAdd, capDrop });

describe('service capabilities (Docker rules)', () => {
  it('defaults to podman\'s 11 capabilities (no MKNOD, NET_RAW, AUDIT_WRITE), mask 0x800405fb as CapEff shows it', () => {
    expect(caps([], [])).toHaveLength(11);
    expect(capabilityMask(caps([], [])).toString(16)).toBe('800405fb');
    for (const gone of ['CAP_MKNOD', 'CAP_NET_RAW', 'CAP_AUDIT_WRITE']) expect(caps([], [])).not.toContain(gone);
    expect(new Set(caps([], []))).toEqual(new Set(DEFAULT_CAPABILITIES));
  });

  it('numbers capabilities as the kernel does', () => {
    expect(ALL_CAPABILITIES.indexOf('CAP_NET_ADMIN')).toBe(12);
    expect(ALL_CAPABILITIES.indexOf('CAP_SYS_ADMIN')).toBe(21);
    expect(ALL_CAPABILITIES.indexOf('CAP_CHECKPOINT_RESTORE')).toBe(40);
  });

  it.each([
    [['NET_ADMIN'], [], 'adds with or without the prefix, any case', (c: string[]) => c.includes('CAP_NET_ADMIN')],
    [['cap_sys_ptrace'], [], 'lower case with prefix', (c: string[]) => c.includes('CAP_SYS_PTRACE')],
    [[], ['kill', 'CHOWN'], 'drops', (c: string[]) => !c.includes('CAP_KILL') && !c.includes('CAP_CHOWN') && c.length === 9],
    [['NET_RAW', 'mknod'], [], 'adds back what Docker has and podman does not', (c: string[]) => c.includes('CAP_NET_RAW') && c.includes('CAP_MKNOD') && c.length === 13],
  ])('cap_add %j cap_drop %j: %s', (add, drop, _what, check) => {
    expect(check(caps(add, drop))).toBe(true);
  });

  it('cap_drop ALL keeps only what is added', () => {
    expect(caps(['NET_BIND_SERVICE'], ['ALL'])).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(caps([], ['all'])).toEqual([]);
  });

  it('cap_add ALL gives everything but what is dropped', () => {
    const c = caps(['ALL'], ['SYS_ADMIN']);
    expect(c).toHaveLength(ALL_CAPABILITIES.length - 1);
    expect(c).not.toContain('CAP_SYS_ADMIN');
  });

  it('privileged gives every capability, whatever cap_drop says', () => {
    expect(serviceCapabilities({ name: 'web', capAdd: [], capDrop: ['ALL'], privileged: true })).toEqual(ALL_CAPABILITIES);
  });

  it('a name the kernel lacks is a UserError naming the service and the key', () => {
    try {
      caps(['NET_ADMN'], []);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(UserError);
      expect((e as UserError).code).toBe('CAP_UNKNOWN');
      expect((e as UserError).message).toContain('service "web": cap_add');
    }
  });
});
