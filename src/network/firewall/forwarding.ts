// net.ipv4.ip_forward: egress from a bridge is routed by the host, so it needs forwarding on.
// Decision (the way Docker and podman behave): when a project has a non-internal network and
// forwarding is off, stack turns it on and says so (the caller prints the returned notice);
// it never turns it back off, since by then other software may rely on it. Isolation does not
// depend on it being off (ruleset.ts). `mode: 'require'` refuses instead of changing the host.
import { UserError } from '../../errors.js';
import { type NetTarget, readNetProc, writeNetProc } from './run.js';

const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

/** What `ensureIpv4Forwarding` did: `enabled` when it changed the sysctl from 0 to 1. */
export type ForwardingChange = 'already-on' | 'enabled';

/** Makes sure IPv4 forwarding is on in the target netns (see the decision above). */
export async function ensureIpv4Forwarding(
  target: NetTarget = {},
  mode: 'enable' | 'require' = 'enable',
): Promise<ForwardingChange> {
  if ((await readNetProc(target, IP_FORWARD)).trim() === '1') return 'already-on';
  if (mode === 'require') {
    throw new UserError(
      'IP_FORWARD_OFF',
      'net.ipv4.ip_forward is 0, so services on non-internal networks cannot reach the outside',
      'run `sysctl -w net.ipv4.ip_forward=1` (and persist it in /etc/sysctl.d/), or mark the networks internal: true',
    );
  }
  await writeNetProc(target, IP_FORWARD, '1\n');
  return 'enabled';
}
