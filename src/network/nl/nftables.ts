// nf_tables over nfnetlink (linux/netfilter/nfnetlink.h, nf_tables.h, netfilter.h): the
// messages that make a table, its sets, chains and rules, as `nft -f` sends them (compare
// `nft --debug=netlink,mnl`), and the batch that makes them one transaction. Pure codecs, no
// I/O; the socket (network/socket.ts) sends them. Every integer attribute of nf_tables is
// big-endian (NLA_BE32); data values (addresses, interface names, the bytes a `cmp` compares)
// are the bytes as they are in the packet or in the register.
import { be32Attr, bytesAttr, encodeAttrs, nestedAttr, stringAttr, u8Attr, type Attr } from './attr.js';
import { NFNL_SUBSYS_NFTABLES, NLM_F_APPEND, NLM_F_CREATE } from './constants.js';

/** The messages that open and close a batch of the nf_tables subsystem (NFNL_SUBSYS_NFTABLES). */
export const NFNL_MSG_BATCH_BEGIN = 16;
export const NFNL_MSG_BATCH_END = 17;

/** nf_tables message types (the low byte of nlmsg_type; the subsystem is the high byte). */
export const NFT_MSG_NEWTABLE = 0;
export const NFT_MSG_DELTABLE = 2;
export const NFT_MSG_NEWCHAIN = 3;
export const NFT_MSG_GETCHAIN = 4;
export const NFT_MSG_NEWRULE = 6;
export const NFT_MSG_GETRULE = 7;
export const NFT_MSG_NEWSET = 9;
export const NFT_MSG_NEWSETELEM = 12;

/** nlmsg_type of an nf_tables message. */
export function nftMessageType(msg: number): number {
  return (NFNL_SUBSYS_NFTABLES << 8) | msg;
}

/** Protocol families of nf_tables (nfgen_family). */
export const NFPROTO_UNSPEC = 0;
export const NFPROTO_INET = 1;
export const NFPROTO_IPV4 = 2;

/** Netfilter hooks of the inet family, and verdicts. */
export const NF_INET_LOCAL_IN = 1;
export const NF_INET_FORWARD = 2;
export const NF_INET_POST_ROUTING = 4;
export const NF_DROP = 0;
export const NF_ACCEPT = 1;

/** Table, chain, set, set element, rule and expression attributes. */
const NFTA_TABLE_NAME = 1;
const NFTA_TABLE_FLAGS = 2;
const NFTA_TABLE_USERDATA = 6;
const NFTA_CHAIN_TABLE = 1;
const NFTA_CHAIN_NAME = 3;
const NFTA_CHAIN_HOOK = 4;
export const NFTA_CHAIN_POLICY = 5;
const NFTA_CHAIN_TYPE = 7;
const NFTA_HOOK_HOOKNUM = 1;
const NFTA_HOOK_PRIORITY = 2;
const NFTA_SET_TABLE = 1;
const NFTA_SET_NAME = 2;
const NFTA_SET_FLAGS = 3;
const NFTA_SET_KEY_TYPE = 4;
const NFTA_SET_KEY_LEN = 5;
const NFTA_SET_DESC = 9;
const NFTA_SET_ID = 10;
const NFTA_SET_USERDATA = 13;
const NFTA_SET_DESC_SIZE = 1;
const NFTA_SET_ELEM_LIST_TABLE = 1;
const NFTA_SET_ELEM_LIST_SET = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS = 3;
const NFTA_SET_ELEM_LIST_SET_ID = 4;
const NFTA_SET_ELEM_KEY = 1;
const NFTA_SET_ELEM_FLAGS = 3;
const NFTA_RULE_TABLE = 1;
const NFTA_RULE_CHAIN = 2;
const NFTA_RULE_EXPRESSIONS = 4;
const NFTA_LIST_ELEM = 1;
const NFTA_EXPR_NAME = 1;
const NFTA_EXPR_DATA = 2;
const NFTA_DATA_VALUE = 1;
const NFTA_DATA_VERDICT = 2;
const NFTA_VERDICT_CODE = 1;

/** Set flags. */
export const NFT_SET_ANONYMOUS = 0x1;
export const NFT_SET_CONSTANT = 0x2;
export const NFT_SET_INTERVAL = 0x4;
/** A set element that closes an interval. */
export const NFT_SET_ELEM_INTERVAL_END = 0x1;

/** Registers: the verdict, and the 16-byte data registers 1-4. */
export const NFT_REG_VERDICT = 0;
export const NFT_REG_1 = 1;
export const NFT_REG_2 = 2;

/** meta keys, ct keys and directions, payload bases, cmp operators. */
export const NFT_META_IIFNAME = 6;
export const NFT_META_OIFNAME = 7;
export const NFT_META_NFPROTO = 15;
export const NFT_META_L4PROTO = 16;
export const NFT_CT_STATE = 0;
export const NFT_CT_DST_IP = 20;
export const IP_CT_DIR_ORIGINAL = 0;
export const NFT_PAYLOAD_NETWORK_HEADER = 1;
export const NFT_CMP_EQ = 0;
export const NFT_CMP_NEQ = 1;

/** nft's own names of key types (NFTA_SET_KEY_TYPE, read back by `nft list`): not the kernel's concern. */
export const NFT_TYPE_IPADDR = 7;
export const NFT_TYPE_INET_PROTOCOL = 12;
export const NFT_TYPE_IFNAME = 41;
/** A concatenation's type: its parts' types, 6 bits each. */
export function concatType(...types: number[]): number {
  return types.reduce((id, t) => (id << 6) | t, 0);
}

/** struct nfgenmsg: family, version (NFNETLINK_V0) and res_id (big-endian). */
export function nfgenmsg(family: number, resId = 0): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt8(family, 0);
  b.writeUInt16BE(resId, 2);
  return b;
}

/** One nf_tables request: its type, flags beyond NLM_F_REQUEST | NLM_F_ACK, body, and what an error calls it besides its type. */
export interface NftMessage {
  readonly type: number;
  readonly flags: number;
  readonly body: Buffer;
  readonly what: string;
}

function message(msg: number, flags: number, family: number, attrs: readonly Attr[], what: string): NftMessage {
  const type = nftMessageType(msg);
  return { type, flags, body: Buffer.concat([nfgenmsg(family), encodeAttrs(attrs)]), what };
}

/** nftnl's user data: type-length-value triples of one byte type, one byte length. */
export function userData(entries: readonly (readonly [type: number, value: Buffer])[]): Buffer {
  return Buffer.concat(
    entries.map(([type, value]) => {
      if (value.length > 255) throw new RangeError(`user data ${type} is ${value.length} bytes, over 255`);
      return Buffer.concat([Buffer.from([type, value.length]), value]);
    }),
  );
}

/** NFTNL_UDATA_TABLE_COMMENT: what `nft list` shows as the table's comment. */
const UDATA_TABLE_COMMENT = 0;

/** Makes the table, or leaves it as it is (`table inet x`). */
export function newTable(family: number, name: string, comment?: string): NftMessage {
  const attrs = [stringAttr(NFTA_TABLE_NAME, name), be32Attr(NFTA_TABLE_FLAGS, 0)];
  if (comment !== undefined) attrs.push(bytesAttr(NFTA_TABLE_USERDATA, userData([[UDATA_TABLE_COMMENT, Buffer.from(`${comment}\0`)]])));
  return message(NFT_MSG_NEWTABLE, NLM_F_CREATE, family, attrs, `table ${name}`);
}

/** Deletes the table and everything in it. */
export function delTable(family: number, name: string): NftMessage {
  return message(NFT_MSG_DELTABLE, 0, family, [stringAttr(NFTA_TABLE_NAME, name)], `table ${name}`);
}

/** Asks for one chain (GETCHAIN); ENOENT when there is none. */
export function getChain(family: number, table: string, chain: string): NftMessage {
  return message(NFT_MSG_GETCHAIN, 0, family, [stringAttr(NFTA_CHAIN_TABLE, table), stringAttr(NFTA_CHAIN_NAME, chain)], `chain ${table} ${chain}`);
}

/** The rules of one chain (GETRULE with NLM_F_DUMP). */
export function getRules(family: number, table: string, chain: string): NftMessage {
  return message(NFT_MSG_GETRULE, 0, family, [stringAttr(NFTA_RULE_TABLE, table), stringAttr(NFTA_RULE_CHAIN, chain)], `rules of ${table} ${chain}`);
}

/** A base chain: its type (`filter`, `nat`), hook, priority and policy. */
export function newBaseChain(
  family: number,
  table: string,
  chain: { name: string; type: string; hook: number; priority: number; policy: number },
): NftMessage {
  return message(
    NFT_MSG_NEWCHAIN,
    NLM_F_CREATE,
    family,
    [
      stringAttr(NFTA_CHAIN_TABLE, table),
      stringAttr(NFTA_CHAIN_NAME, chain.name),
      stringAttr(NFTA_CHAIN_TYPE, chain.type),
      be32Attr(NFTA_CHAIN_POLICY, chain.policy),
      nestedAttr(NFTA_CHAIN_HOOK, [be32Attr(NFTA_HOOK_HOOKNUM, chain.hook), be32Attr(NFTA_HOOK_PRIORITY, chain.priority)], true),
    ],
    `chain ${table} ${chain.name}`,
  );
}

/** A set as the kernel needs it, and what `nft list` reads back (keyType, userData). */
export interface SetSpec {
  readonly name: string;
  /** NFTA_SET_ID: how the rules of the same batch refer to it. */
  readonly id: number;
  readonly flags: number;
  readonly keyType: number;
  readonly keyLen: number;
  /** NFTA_SET_DESC_SIZE: the number of elements of a constant set. */
  readonly size?: number;
  readonly userData: Buffer;
}

/** Makes a set. */
export function newSet(family: number, table: string, set: SetSpec): NftMessage {
  const attrs = [
    stringAttr(NFTA_SET_TABLE, table),
    stringAttr(NFTA_SET_NAME, set.name),
    be32Attr(NFTA_SET_FLAGS, set.flags),
    be32Attr(NFTA_SET_KEY_TYPE, set.keyType),
    be32Attr(NFTA_SET_KEY_LEN, set.keyLen),
    be32Attr(NFTA_SET_ID, set.id),
  ];
  if (set.size !== undefined) attrs.push(nestedAttr(NFTA_SET_DESC, [be32Attr(NFTA_SET_DESC_SIZE, set.size)], true));
  attrs.push(bytesAttr(NFTA_SET_USERDATA, set.userData));
  return message(NFT_MSG_NEWSET, NLM_F_CREATE, family, attrs, `set ${table} ${set.name}`);
}

/** One element of a set: its key, and whether it closes an interval. */
export interface SetElement {
  readonly key: Buffer;
  readonly intervalEnd?: boolean;
}

/** Adds elements to a set made in the same batch (`set` names it, `id` is its NFTA_SET_ID). */
export function newSetElements(family: number, table: string, set: { name: string; id: number }, elements: readonly SetElement[]): NftMessage {
  return message(
    NFT_MSG_NEWSETELEM,
    NLM_F_CREATE,
    family,
    [
      stringAttr(NFTA_SET_ELEM_LIST_TABLE, table),
      stringAttr(NFTA_SET_ELEM_LIST_SET, set.name),
      be32Attr(NFTA_SET_ELEM_LIST_SET_ID, set.id),
      nestedAttr(
        NFTA_SET_ELEM_LIST_ELEMENTS,
        elements.map((e) =>
          nestedAttr(
            NFTA_LIST_ELEM,
            [dataValue(NFTA_SET_ELEM_KEY, e.key), ...(e.intervalEnd ? [be32Attr(NFTA_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END)] : [])],
            true,
          ),
        ),
        true,
      ),
    ],
    `elements of set ${table} ${set.name}`,
  );
}

/** Appends a rule to a chain. */
export function newRule(family: number, table: string, chain: string, expressions: readonly Attr[], what: string): NftMessage {
  return message(
    NFT_MSG_NEWRULE,
    NLM_F_CREATE | NLM_F_APPEND,
    family,
    [stringAttr(NFTA_RULE_TABLE, table), stringAttr(NFTA_RULE_CHAIN, chain), nestedAttr(NFTA_RULE_EXPRESSIONS, expressions, true)],
    `rule in ${table} ${chain}: ${what}`,
  );
}

/** A data attribute holding a value (NFTA_DATA_VALUE). */
function dataValue(type: number, value: Buffer): Attr {
  return nestedAttr(type, [bytesAttr(NFTA_DATA_VALUE, value)], true);
}

/** One expression of a rule. */
function expression(name: string, data: readonly Attr[]): Attr {
  return nestedAttr(NFTA_LIST_ELEM, [stringAttr(NFTA_EXPR_NAME, name), nestedAttr(NFTA_EXPR_DATA, data, true)], true);
}

/** `meta load <key> => reg` */
export function metaLoad(key: number, dreg: number): Attr {
  return expression('meta', [be32Attr(2 /* NFTA_META_KEY */, key), be32Attr(1 /* NFTA_META_DREG */, dreg)]);
}

/** `cmp <op> reg <data>`: compares the register's first data.length bytes. */
export function cmp(sreg: number, op: number, data: Buffer): Attr {
  return expression('cmp', [be32Attr(1 /* NFTA_CMP_SREG */, sreg), be32Attr(2 /* NFTA_CMP_OP */, op), dataValue(3 /* NFTA_CMP_DATA */, data)]);
}

/** `lookup reg set <name>`: the rule goes on only when the register's key is in the set. */
export function lookup(sreg: number, set: { name: string; id: number }): Attr {
  return expression('lookup', [be32Attr(2 /* NFTA_LOOKUP_SREG */, sreg), stringAttr(1 /* NFTA_LOOKUP_SET */, set.name), be32Attr(4 /* NFTA_LOOKUP_SET_ID */, set.id)]);
}

/** `immediate reg 0 <verdict>`: the rule's verdict. */
export function verdict(code: number): Attr {
  return expression('immediate', [
    be32Attr(1 /* NFTA_IMMEDIATE_DREG */, NFT_REG_VERDICT),
    nestedAttr(2 /* NFTA_IMMEDIATE_DATA */, [nestedAttr(NFTA_DATA_VERDICT, [be32Attr(NFTA_VERDICT_CODE, code)], true)], true),
  ]);
}

/** `bitwise reg = (reg & mask) ^ xor` over mask.length bytes. */
export function bitwise(reg: number, mask: Buffer, xor: Buffer): Attr {
  return expression('bitwise', [
    be32Attr(1 /* NFTA_BITWISE_SREG */, reg),
    be32Attr(2 /* NFTA_BITWISE_DREG */, reg),
    be32Attr(3 /* NFTA_BITWISE_LEN */, mask.length),
    dataValue(4 /* NFTA_BITWISE_MASK */, mask),
    dataValue(5 /* NFTA_BITWISE_XOR */, xor),
  ]);
}

/** `ct load <key> => reg` (of the original direction when `direction` is given). */
export function ctLoad(key: number, dreg: number, direction?: number): Attr {
  return expression('ct', [
    be32Attr(2 /* NFTA_CT_KEY */, key),
    be32Attr(1 /* NFTA_CT_DREG */, dreg),
    ...(direction !== undefined ? [u8Attr(3 /* NFTA_CT_DIRECTION */, direction)] : []),
  ]);
}

/** `payload load <len>b @ <base> + <offset> => reg` */
export function payloadLoad(base: number, offset: number, len: number, dreg: number): Attr {
  return expression('payload', [
    be32Attr(1 /* NFTA_PAYLOAD_DREG */, dreg),
    be32Attr(2 /* NFTA_PAYLOAD_BASE */, base),
    be32Attr(3 /* NFTA_PAYLOAD_OFFSET */, offset),
    be32Attr(4 /* NFTA_PAYLOAD_LEN */, len),
  ]);
}

/** `masq`: source NAT to the address of the interface the packet leaves by. */
export function masquerade(): Attr {
  return expression('masq', []);
}

/** An interface name as the kernel holds it in a register (IFNAMSIZ: 16 bytes, NUL padded). */
export function ifname(name: string): Buffer {
  const b = Buffer.alloc(16);
  if (Buffer.byteLength(name) > 15) throw new RangeError(`interface name ${name} is longer than 15 bytes`);
  b.write(name, 'latin1');
  return b;
}
