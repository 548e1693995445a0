// Link messages (RTM_NEWLINK/DELLINK/GETLINK/SETLINK): struct ifinfomsg followed by IFLA_*
// attributes; a veth's peer is a whole ifinfomsg with attributes inside VETH_INFO_PEER.
import { AttrSet, bytesAttr, encodeAttrs, nestedAttr, stringAttr, u32Attr, type Attr } from './attr.js';
import { align4, readI32, readU16, readU32, writeI32, writeU16, writeU32 } from './bytes.js';
import {
  AF_UNSPEC, IFF_UP, IFLA_ADDRESS, IFLA_EXT_MASK, IFLA_GROUP, IFLA_IFALIAS, IFLA_IFNAME, IFLA_INFO_DATA, IFLA_INFO_KIND, IFLA_LINK,
  IFLA_LINK_NETNSID, IFLA_LINKINFO, IFLA_MASTER, IFLA_MTU, IFLA_NET_NS_FD, IFLA_OPERSTATE, NLA_TYPE_MASK, RTEXT_FILTER_SKIP_STATS, VETH_INFO_PEER,
} from './constants.js';

/** Size of struct ifinfomsg. */
export const IFINFOMSG_LEN = 16;

/** struct ifinfomsg. */
export interface IfInfo {
  readonly family: number;
  /** ARPHRD_* device type. */
  readonly type: number;
  readonly index: number;
  readonly flags: number;
  /** Which bits of `flags` a request changes. */
  readonly change: number;
}

/** Encodes struct ifinfomsg; omitted fields are 0. */
export function encodeIfInfo(i: Partial<IfInfo>): Buffer {
  const b = Buffer.alloc(IFINFOMSG_LEN);
  b[0] = i.family ?? AF_UNSPEC;
  writeU16(b, i.type ?? 0, 2);
  writeI32(b, i.index ?? 0, 4);
  writeU32(b, i.flags ?? 0, 8);
  writeU32(b, i.change ?? 0, 12);
  return b;
}

/** Decodes struct ifinfomsg. */
export function decodeIfInfo(b: Buffer): IfInfo {
  if (b.length < IFINFOMSG_LEN) throw new RangeError(`truncated ifinfomsg: ${b.length} bytes`);
  return { family: b[0]!, type: readU16(b, 2), index: readI32(b, 4), flags: readU32(b, 8), change: readU32(b, 12) };
}

/** What one link request says: the fields of `ip link add` and `ip link set`. */
export interface LinkRequest {
  readonly index?: number;
  readonly name?: string;
  readonly flags?: number;
  readonly change?: number;
  readonly mtu?: number;
  /** Index of the bridge to enslave to; 0 releases it (`nomaster`). */
  readonly master?: number;
  /** Device group (`ip link ... group $n`): lets one request delete many links at once. */
  readonly group?: number;
  /** Free-text alias (`ip link ... alias $text`): who made the link, for observation and gc. */
  readonly alias?: string;
  /** An open fd of the network namespace to create or move the link in. */
  readonly netnsFd?: number;
  /** `bridge`, `veth`, ... (IFLA_INFO_KIND). */
  readonly kind?: string;
  /** Kind-specific attributes (IFLA_INFO_DATA). */
  readonly data?: readonly Attr[];
  /** What a reply leaves out (IFLA_EXT_MASK: RTEXT_FILTER_SKIP_STATS), for a GETLINK. */
  readonly extMask?: number;
}

/** Encodes a link request body: ifinfomsg and its attributes. */
export function encodeLinkRequest(r: LinkRequest): Buffer {
  const attrs: Attr[] = [];
  if (r.name !== undefined) attrs.push(stringAttr(IFLA_IFNAME, r.name));
  if (r.mtu !== undefined) attrs.push(u32Attr(IFLA_MTU, r.mtu));
  if (r.master !== undefined) attrs.push(u32Attr(IFLA_MASTER, r.master));
  if (r.group !== undefined) attrs.push(u32Attr(IFLA_GROUP, r.group));
  if (r.alias !== undefined) attrs.push(stringAttr(IFLA_IFALIAS, r.alias));
  if (r.netnsFd !== undefined) attrs.push(u32Attr(IFLA_NET_NS_FD, r.netnsFd));
  if (r.extMask !== undefined) attrs.push(u32Attr(IFLA_EXT_MASK, r.extMask));
  if (r.kind !== undefined) {
    const info: Attr[] = [stringAttr(IFLA_INFO_KIND, r.kind)];
    if (r.data) info.push(nestedAttr(IFLA_INFO_DATA, r.data));
    attrs.push(nestedAttr(IFLA_LINKINFO, info));
  }
  const info = encodeIfInfo({ index: r.index ?? 0, flags: r.flags ?? 0, change: r.change ?? 0 });
  return Buffer.concat([info, encodeAttrs(attrs)]);
}

/** A GETLINK dump request whose replies leave out the per-family counters (IPv6's: ~370 of a veth's ~1800 bytes). */
export function encodeLinkDumpWithoutStats(): Buffer {
  return Buffer.concat([encodeIfInfo({}), encodeAttrs([u32Attr(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS)])]);
}

/**
 * A link message's name, device group and index, read by stepping over its other attributes (a
 * veth's dozens: link info, per-family settings), not by decoding them: what linkDelMany needs
 * of every link of a namespace. Group 0 when the message has none.
 */
export function decodeLinkGroup(body: Buffer): { readonly name: string; readonly group: number; readonly index: number } {
  if (body.length < IFINFOMSG_LEN) throw new RangeError(`truncated ifinfomsg: ${body.length} bytes`);
  let name = '';
  let group = 0;
  for (let offset = IFINFOMSG_LEN; offset + 4 <= body.length; ) {
    const len = readU16(body, offset);
    if (len < 4 || offset + len > body.length) {
      throw new RangeError(`malformed netlink attribute at byte ${offset - IFINFOMSG_LEN}: length ${len} of ${body.length - offset} left`);
    }
    const type = readU16(body, offset + 2) & NLA_TYPE_MASK;
    if (type === IFLA_IFNAME) {
      const nul = body.indexOf(0, offset + 4);
      name = body.toString('utf8', offset + 4, nul < 0 || nul > offset + len ? offset + len : nul);
    } else if (type === IFLA_GROUP && len >= 8) group = readU32(body, offset + 4);
    offset += align4(len);
  }
  return { name, group, index: decodeIfInfo(body).index };
}

/** IFLA_INFO_DATA of a veth: its peer, described as a link request of its own. */
export function vethPeerData(peer: LinkRequest): Attr[] {
  return [bytesAttr(VETH_INFO_PEER, encodeLinkRequest(peer))];
}

/** A link as the kernel reports it (`ip -d link show`). */
export interface Link {
  readonly index: number;
  readonly name: string;
  readonly flags: number;
  /** Administratively up (IFF_UP). */
  readonly up: boolean;
  /** RFC 2863 operational state (IF_OPER_UP = 6). */
  readonly operstate?: number;
  readonly mtu?: number;
  /** Index of the bridge it is enslaved to. */
  readonly master?: number;
  /** Device group (0 is the default group). */
  readonly group?: number;
  readonly alias?: string;
  readonly kind?: string;
  /** Hardware address, `aa:bb:cc:dd:ee:ff`. */
  readonly mac?: string;
  /** For a veth: the peer's index (in the peer's namespace). */
  readonly peerIndex?: number;
  /** For a veth whose peer is elsewhere: the peer namespace's id as seen from here. */
  readonly peerNetnsId?: number;
}

/** Decodes the body of an RTM_NEWLINK message (ifinfomsg and attributes). */
export function decodeLink(body: Buffer): Link {
  const info = decodeIfInfo(body);
  const a = new AttrSet(body.subarray(IFINFOMSG_LEN));
  const mac = a.bytes(IFLA_ADDRESS);
  const peerNetnsId = a.bytes(IFLA_LINK_NETNSID);
  const link: Link = {
    index: info.index,
    name: a.string(IFLA_IFNAME) ?? '',
    flags: info.flags,
    up: (info.flags & IFF_UP) !== 0,
    operstate: a.u8(IFLA_OPERSTATE),
    mtu: a.u32(IFLA_MTU),
    master: a.u32(IFLA_MASTER),
    group: a.u32(IFLA_GROUP),
    alias: a.string(IFLA_IFALIAS),
    kind: a.nested(IFLA_LINKINFO)?.string(IFLA_INFO_KIND),
    mac: mac ? Array.from(mac, (x) => x.toString(16).padStart(2, '0')).join(':') : undefined,
    peerIndex: a.u32(IFLA_LINK),
    peerNetnsId: peerNetnsId && peerNetnsId.length >= 4 ? readI32(peerNetnsId, 0) : undefined,
  };
  return Object.fromEntries(Object.entries(link).filter(([, v]) => v !== undefined)) as unknown as Link;
}
