// net.ipv4.ping_group_range inside a service's netns, opened to every group as podman does:
// services lack CAP_NET_RAW, and ping then uses an ICMP datagram socket (SOCK_DGRAM,
// IPPROTO_ICMP), which the kernel allows to the groups in this range. A net sysctl belongs to
// the netns of whoever opens its /proc/sys file, so the main thread steps into the namespace
// just for the open and write (a synchronous write runs on the calling thread).
import { writeFileSync } from 'node:fs';
import { inNetns } from './netns.js';

/** Where the sysctl lives, relative to the opener's netns. */
const PING_GROUP_RANGE = '/proc/sys/net/ipv4/ping_group_range';

/** Every gid (the kernel's widest range, as podman writes it). */
export const ALL_GROUPS_RANGE = '0 2147483647';

/** Lets every group of the named netns open ICMP datagram sockets (ping without CAP_NET_RAW). */
export function openPingGroupRange(netns: string): void {
  inNetns(netns, openPingGroupRangeHere);
}

/** openPingGroupRange for the netns the calling thread is in (one being made: netns.ts netnsAdd's `inside`). */
export function openPingGroupRangeHere(): void {
  writeFileSync(PING_GROUP_RANGE, ALL_GROUPS_RANGE);
}
