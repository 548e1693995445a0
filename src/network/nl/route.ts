// Route messages (RTM_NEWROUTE/DELROUTE/GETROUTE): struct rtmsg followed by RTA_* attributes.
import { AttrSet, bytesAttr, encodeAttrs, u32Attr, type Attr } from './attr.js';
import { readU32, writeU32 } from './bytes.js';
import {
  RT_SCOPE_LINK, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, RTA_DST, RTA_GATEWAY, RTA_OIF, RTA_PREFSRC,
  RTA_PRIORITY, RTA_TABLE, RTN_UNICAST, RTPROT_BOOT,
} from './constants.js';
import { bytesToIp, ipFamily, ipToBytes, type Cidr } from './ip.js';

/** Size of struct rtmsg. */
export const RTMSG_LEN = 12;

/** struct rtmsg. */
export interface RtMsg {
  readonly family: number;
  readonly dstLength: number;
  readonly srcLength: number;
  readonly tos: number;
  readonly table: number;
  readonly protocol: number;
  readonly scope: number;
  readonly type: number;
  readonly flags: number;
}

/** Encodes struct rtmsg; omitted fields are 0. */
export function encodeRtMsg(r: Partial<RtMsg>): Buffer {
  const b = Buffer.alloc(RTMSG_LEN);
  b[0] = r.family ?? 0;
  b[1] = r.dstLength ?? 0;
  b[2] = r.srcLength ?? 0;
  b[3] = r.tos ?? 0;
  b[4] = r.table ?? 0;
  b[5] = r.protocol ?? 0;
  b[6] = r.scope ?? 0;
  b[7] = r.type ?? 0;
  writeU32(b, r.flags ?? 0, 8);
  return b;
}

/** Decodes struct rtmsg. */
export function decodeRtMsg(b: Buffer): RtMsg {
  if (b.length < RTMSG_LEN) throw new RangeError(`truncated rtmsg: ${b.length} bytes`);
  return {
    family: b[0]!, dstLength: b[1]!, srcLength: b[2]!, tos: b[3]!, table: b[4]!,
    protocol: b[5]!, scope: b[6]!, type: b[7]!, flags: readU32(b, 8),
  };
}

/** What `ip route add [<dst>|default] [via <gateway>] [dev <oif>]` says, in the main table. */
export interface RouteRequest {
  /** Destination network; absent for the default route. */
  readonly dst?: Cidr;
  readonly gateway?: string;
  readonly oif?: number;
  /** Defaults to the family of `dst` or `gateway`. */
  readonly family?: number;
}

/** Encodes the body of a unicast route request (scope link when there is no gateway). */
export function encodeRouteRequest(r: RouteRequest): Buffer {
  const family = r.family ?? ipFamily(r.dst?.address ?? r.gateway ?? '0.0.0.0');
  const attrs: Attr[] = [];
  if (r.dst) attrs.push(bytesAttr(RTA_DST, ipToBytes(r.dst.address)));
  if (r.gateway !== undefined) attrs.push(bytesAttr(RTA_GATEWAY, ipToBytes(r.gateway)));
  if (r.oif !== undefined) attrs.push(u32Attr(RTA_OIF, r.oif));
  const head = encodeRtMsg({
    family,
    dstLength: r.dst?.prefixLength ?? 0,
    table: RT_TABLE_MAIN,
    protocol: RTPROT_BOOT,
    scope: r.gateway === undefined ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE,
    type: RTN_UNICAST,
  });
  return Buffer.concat([head, encodeAttrs(attrs)]);
}

/** A route as the kernel reports it (`ip route show table all`). */
export interface Route {
  readonly family: number;
  /** `10.0.0.0/24`, or `default`. */
  readonly dst: string;
  readonly gateway?: string;
  readonly oif?: number;
  readonly prefsrc?: string;
  readonly priority?: number;
  readonly table: number;
  readonly protocol: number;
  readonly scope: number;
  readonly type: number;
}

/** Decodes the body of an RTM_NEWROUTE message. */
export function decodeRoute(body: Buffer): Route {
  const h = decodeRtMsg(body);
  const a = new AttrSet(body.subarray(RTMSG_LEN));
  const dst = a.bytes(RTA_DST);
  const gw = a.bytes(RTA_GATEWAY);
  const src = a.bytes(RTA_PREFSRC);
  const oif = a.u32(RTA_OIF);
  const priority = a.u32(RTA_PRIORITY);
  return {
    family: h.family,
    dst: dst ? `${bytesToIp(dst)}/${h.dstLength}` : 'default',
    ...(gw ? { gateway: bytesToIp(gw) } : {}),
    ...(oif !== undefined ? { oif } : {}),
    ...(src ? { prefsrc: bytesToIp(src) } : {}),
    ...(priority !== undefined ? { priority } : {}),
    table: a.u32(RTA_TABLE) ?? h.table,
    protocol: h.protocol,
    scope: h.scope,
    type: h.type,
  };
}
