// net.ipv4.ip_forward: egress from a bridge is routed by the host, so it needs forwarding on.
// Decision (the way Docker and podman behave): when a project has a non-internal network and
// forwarding is off, stack turns it on and says so (the caller prints the notice); it never
// turns it back off, since by then other software may rely on it. Isolation does not depend
// on it being off (ruleset.ts). STACK_IP_FORWARD=leave keeps stack's hands off (project.ts).
import { type NetTarget, readNetProc, writeNetProc } from './run.js';

const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

/** What `ensureIpv4Forwarding` did: `enabled` when it changed the sysctl from 0 to 1. */
export type ForwardingChange = 'already-on' | 'enabled';

/** Makes sure IPv4 forwarding is on in the target netns (see the decision above). */
export async function ensureIpv4Forwarding(target: NetTarget = {}): Promise<ForwardingChange> {
  if ((await readNetProc(target, IP_FORWARD)).trim() === '1') return 'already-on';
  await writeNetProc(target, IP_FORWARD, '1\n');
  return 'enabled';
}
