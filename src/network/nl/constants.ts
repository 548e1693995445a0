// The numbers of the rtnetlink protocol (linux/netlink.h, rtnetlink.h, if_link.h, veth.h,
// if_addr.h), named as in the kernel headers so the code reads like the documentation.

/** nlmsghdr.nlmsg_type values of control messages and of the rtnetlink families we speak. */
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;

/** nlmsghdr.nlmsg_flags. */
export const NLM_F_REQUEST = 0x01;
export const NLM_F_MULTI = 0x02;
export const NLM_F_ACK = 0x04;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP = 0x300;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
/** A new rule goes at the end of its chain (nf_tables). */
export const NLM_F_APPEND = 0x800;
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;

/** Attributes of an extended ACK (NETLINK_EXT_ACK): the kernel's own words about an error. */
export const NLMSGERR_ATTR_MSG = 1;
export const NLMSGERR_ATTR_OFFS = 2;

/** rtattr.rta_type flag bits that are not part of the type. */
export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

/** Address families. */
export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;

/** Link attributes (IFLA_*), link-info attributes (IFLA_INFO_*) and the veth peer. */
export const IFLA_ADDRESS = 1;
export const IFLA_BROADCAST = 2;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINK = 5;
export const IFLA_MASTER = 10;
export const IFLA_TXQLEN = 13;
export const IFLA_OPERSTATE = 16;
export const IFLA_LINKINFO = 18;
export const IFLA_NET_NS_PID = 19;
export const IFLA_IFALIAS = 20;
export const IFLA_GROUP = 27;
export const IFLA_NET_NS_FD = 28;
/** u32 mask of RTEXT_FILTER_* bits in a GETLINK request: what a dump may leave out. */
export const IFLA_EXT_MASK = 29;
/** IFLA_EXT_MASK bit: no per-family counters (IPv6's, in IFLA_AF_SPEC) nor VF counters in the reply; IFLA_STATS64 stays. */
export const RTEXT_FILTER_SKIP_STATS = 1 << 3;
export const IFLA_LINK_NETNSID = 37;
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const VETH_INFO_PEER = 1;

/** Interface flags (ifinfomsg.ifi_flags). */
export const IFF_UP = 0x1;
export const IFF_LOOPBACK = 0x8;
export const IFF_RUNNING = 0x40;
export const IFF_LOWER_UP = 0x10000;

/** Address attributes (IFA_*) and flags. */
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_LABEL = 3;
export const IFA_BROADCAST = 4;
export const IFA_FLAGS = 8;
export const IFA_F_PERMANENT = 0x80;

/** Route attributes (RTA_*), tables, protocols, scopes and types. */
export const RTA_DST = 1;
export const RTA_SRC = 2;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_PREFSRC = 7;
export const RTA_TABLE = 15;
export const RT_TABLE_MAIN = 254;
export const RTPROT_KERNEL = 2;
export const RTPROT_BOOT = 3;
export const RTPROT_STATIC = 4;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;
export const RTN_UNICAST = 1;
export const RTN_LOCAL = 2;

const MESSAGE_NAMES: Readonly<Record<number, string>> = {
  [NLMSG_NOOP]: 'NLMSG_NOOP',
  [NLMSG_ERROR]: 'NLMSG_ERROR',
  [NLMSG_DONE]: 'NLMSG_DONE',
  [NLMSG_OVERRUN]: 'NLMSG_OVERRUN',
  [RTM_NEWLINK]: 'RTM_NEWLINK',
  [RTM_DELLINK]: 'RTM_DELLINK',
  [RTM_GETLINK]: 'RTM_GETLINK',
  [RTM_SETLINK]: 'RTM_SETLINK',
  [RTM_NEWADDR]: 'RTM_NEWADDR',
  [RTM_DELADDR]: 'RTM_DELADDR',
  [RTM_GETADDR]: 'RTM_GETADDR',
  [RTM_NEWROUTE]: 'RTM_NEWROUTE',
  [RTM_DELROUTE]: 'RTM_DELROUTE',
  [RTM_GETROUTE]: 'RTM_GETROUTE',
};

/** nfnetlink's nf_tables subsystem: the high byte of an nf_tables message's type. */
export const NFNL_SUBSYS_NFTABLES = 10;

/** nf_tables messages (the subsystem in the high byte, linux/netfilter/nf_tables.h). */
const NFT_MESSAGE_NAMES: readonly string[] = [
  'NEWTABLE', 'GETTABLE', 'DELTABLE', 'NEWCHAIN', 'GETCHAIN', 'DELCHAIN', 'NEWRULE', 'GETRULE',
  'DELRULE', 'NEWSET', 'GETSET', 'DELSET', 'NEWSETELEM', 'GETSETELEM', 'DELSETELEM',
];

/** The kernel's name of a message type, for error messages: `RTM_NEWLINK`, `NFT_MSG_NEWRULE`. */
export function messageTypeName(type: number): string {
  const nft = type >> 8 === NFNL_SUBSYS_NFTABLES ? NFT_MESSAGE_NAMES[type & 0xff] : undefined;
  if (nft !== undefined) return `NFT_MSG_${nft}`;
  return MESSAGE_NAMES[type] ?? `NLMSG(${type})`;
}
