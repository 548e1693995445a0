// Which UDP socket an address needs, for addresses already known to be IP addresses (a checked
// spec's host_ip, a resolv.conf nameserver, an address the supervisor binds). Not node:net's
// isIPv6: its first call compiles an RFC 4291 regular expression, 7.6-12.3 ms here, which the
// supervisor's first reconcile paid binding its DNS forwarder. Only IPv6 text holds a colon
// (mapped and scoped forms included). And what a UDP socket bound elsewhere needs once taken.
import { setsockoptInt, SO_REUSEADDR, SOL_SOCKET } from '../sys/libc.js';

/** `udp6` for IPv6 text, `udp4` otherwise. */
export function udpType(address: string): 'udp4' | 'udp6' {
  return address.includes(':') ? 'udp6' : 'udp4';
}

/**
 * A UDP socket bound elsewhere (a supervisor's activation) that node:dgram has just taken: libuv
 * sets SO_REUSEADDR on it (uv_udp_open), which would let another socket bind its address and
 * port too; a socket dgram binds itself never has it. Taken off again.
 */
export function adoptedUdp(fd: number): void {
  setsockoptInt(fd, SOL_SOCKET, SO_REUSEADDR, 0);
}
