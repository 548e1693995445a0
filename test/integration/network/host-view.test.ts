// The host's prefixes the address allocation keeps out of a project's subnets (host-view.ts
// hostPrefixes): every address and route of the host, but the addresses of the project's own
// bridges, asked for by name (a bridge of another name, or none by that name, changes nothing).
// A bridge with an address, made and removed by the test in the host's namespace (no port, no
// traffic).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../../harness/require.js';
import { hostPrefixes } from '../../../src/network/host-view.js';

describeWith({ root: true, commands: ['ip'] }, 'host view: the prefixes in use', () => {
  const bridge = `stkt${randomBytes(4).toString('hex')}`;
  const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
  beforeAll(() => {
    ip('link', 'add', bridge, 'type', 'bridge');
    ip('addr', 'add', '10.209.253.1/24', 'dev', bridge);
    ip('link', 'set', bridge, 'up');
  });
  afterAll(() => {
    ip('link', 'del', bridge);
  });

  it('holds a bridge\'s prefix unless the bridge is one of the own, named', () => {
    const all = hostPrefixes(new Set());
    expect(all).toContain('10.209.253.0/24');
    expect(hostPrefixes(new Set([`stkt${randomBytes(4).toString('hex')}`]))).toContain('10.209.253.0/24');
    const without = hostPrefixes(new Set([bridge]));
    expect(without).not.toContain('10.209.253.0/24');
    expect(without.length).toBeLessThan(all.length);
  });
});
