import { describe, expect, it } from 'vitest';
import { deleteRequests, holesIn, rulesetRequests } from '../../../src/network/firewall/index.js';
import { intervalElements } from '../../../src/network/firewall/ruleset.js';
import { AttrSet, messageTypeName, NFPROTO_INET, type NftMessage } from '../../../src/network/nl/index.js';

/** The request as a line: `NFT_MSG_NEWSET set stack_p bridges`. */
const line = (m: NftMessage) => `${messageTypeName(m.type)} ${m.what}`;

/** The keys NEWSETELEM requests add to the set `name`, each as text (an interface name, or an IPv4 address and `end`). */
function elementsOf(requests: readonly NftMessage[], name: string): string[] {
  const out: string[] = [];
  for (const m of requests) {
    if (messageTypeName(m.type) !== 'NFT_MSG_NEWSETELEM') continue;
    const attrs = new AttrSet(m.body.subarray(4));
    if (attrs.string(2) !== name) continue; // NFTA_SET_ELEM_LIST_SET
    for (const element of new AttrSet(attrs.bytes(3)!).all) {
      const e = new AttrSet(element.data);
      const key = new AttrSet(e.bytes(1)!).bytes(1)!; // NFTA_SET_ELEM_KEY > NFTA_DATA_VALUE
      const text = key.length === 4 ? [...key].join('.') : key.toString('latin1').split('\0').filter(Boolean).join(' . ');
      out.push(e.has(3) ? `${text} end` : text);
    }
  }
  return out;
}

describe('rulesetRequests', () => {
  const networks = [
    { bridge: 'stkb0000beef', subnet: '10.209.1.0/24', internal: true },
    { bridge: 'stkb0000abcd', subnet: '10.209.0.0/24', internal: false },
  ];

  it('replaces the project table in one batch: declared, deleted, made again with its chains, sets and rules', () => {
    const requests = rulesetRequests('shop-2', networks);
    expect(requests.every((m) => m.body[0] === NFPROTO_INET)).toBe(true);
    expect(requests.map(line)).toMatchInlineSnapshot(`
      [
        "NFT_MSG_NEWTABLE table stack_shop-2",
        "NFT_MSG_DELTABLE table stack_shop-2",
        "NFT_MSG_NEWTABLE table stack_shop-2",
        "NFT_MSG_NEWCHAIN chain stack_shop-2 forward",
        "NFT_MSG_NEWCHAIN chain stack_shop-2 input",
        "NFT_MSG_NEWCHAIN chain stack_shop-2 postrouting",
        "NFT_MSG_NEWSET set stack_shop-2 bridges",
        "NFT_MSG_NEWSETELEM elements of set stack_shop-2 bridges",
        "NFT_MSG_NEWSET set stack_shop-2 internal",
        "NFT_MSG_NEWSETELEM elements of set stack_shop-2 internal",
        "NFT_MSG_NEWSET set stack_shop-2 same_bridge",
        "NFT_MSG_NEWSETELEM elements of set stack_shop-2 same_bridge",
        "NFT_MSG_NEWSET set stack_shop-2 egress",
        "NFT_MSG_NEWSETELEM elements of set stack_shop-2 egress",
        "NFT_MSG_NEWSET set stack_shop-2 no_link_local",
        "NFT_MSG_NEWSETELEM elements of set stack_shop-2 no_link_local",
        "NFT_MSG_NEWRULE rule in stack_shop-2 forward: iifname . oifname @same_bridge accept",
        "NFT_MSG_NEWRULE rule in stack_shop-2 forward: iifname @internal drop",
        "NFT_MSG_NEWRULE rule in stack_shop-2 forward: oifname @internal drop",
        "NFT_MSG_NEWRULE rule in stack_shop-2 forward: iifname @bridges oifname "stk*" drop",
        "NFT_MSG_NEWRULE rule in stack_shop-2 forward: oifname @bridges iifname "stk*" drop",
        "NFT_MSG_NEWRULE rule in stack_shop-2 forward: oifname @bridges ct state established,related accept",
        "NFT_MSG_NEWRULE rule in stack_shop-2 forward: oifname @bridges drop",
        "NFT_MSG_NEWRULE rule in stack_shop-2 forward: iifname @no_link_local ip daddr 169.254.0.0/16 drop",
        "NFT_MSG_NEWRULE rule in stack_shop-2 forward: iifname @no_link_local ct original ip daddr 169.254.0.0/16 drop",
        "NFT_MSG_NEWRULE rule in stack_shop-2 forward: iifname @no_link_local ip6 daddr fe80::/10 drop",
        "NFT_MSG_NEWRULE rule in stack_shop-2 forward: iifname @bridges accept",
        "NFT_MSG_NEWRULE rule in stack_shop-2 input: iifname @no_link_local ip daddr 169.254.0.0/16 drop",
        "NFT_MSG_NEWRULE rule in stack_shop-2 input: iifname @no_link_local ct original ip daddr 169.254.0.0/16 drop",
        "NFT_MSG_NEWSET set stack_shop-2 __set%d",
        "NFT_MSG_NEWSETELEM elements of set stack_shop-2 __set%d",
        "NFT_MSG_NEWRULE rule in stack_shop-2 input: iifname @no_link_local ip6 daddr fe80::/10 meta l4proto { tcp, udp } drop",
        "NFT_MSG_NEWRULE rule in stack_shop-2 postrouting: ip saddr @egress oifname != "stk*" masquerade",
      ]
    `);
  });

  it('fills the sets from the networks: isolation, internal networks, egress and link-local', () => {
    const requests = rulesetRequests('p', [
      ...networks,
      { bridge: 'stkb0000cafe', subnet: '10.209.2.0/24', internal: false, allowLinkLocal: true },
    ]);
    expect(elementsOf(requests, 'bridges')).toEqual(['stkb0000abcd', 'stkb0000beef', 'stkb0000cafe']);
    expect(elementsOf(requests, 'internal')).toEqual(['stkb0000beef']);
    expect(elementsOf(requests, 'same_bridge')).toEqual(['stkb0000abcd . stkb0000abcd', 'stkb0000beef . stkb0000beef', 'stkb0000cafe . stkb0000cafe']);
    expect(elementsOf(requests, 'egress')).toEqual(['0.0.0.0 end', '10.209.0.0', '10.209.1.0 end', '10.209.2.0', '10.209.3.0 end']);
    expect(elementsOf(requests, 'no_link_local')).toEqual(['stkb0000abcd', 'stkb0000beef']);
  });

  it('makes a set with no elements rather than an empty element list when every network is internal', () => {
    const requests = rulesetRequests('p', [{ bridge: 'stkb1', subnet: '10.209.0.0/24', internal: true }]);
    expect(requests.map(line)).toContain('NFT_MSG_NEWSET set stack_p egress');
    expect(requests.map(line)).not.toContain('NFT_MSG_NEWSETELEM elements of set stack_p egress');
  });

  it('is the same requests whatever order the networks come in', () => {
    const a = { bridge: 'stkb1', subnet: '10.209.0.0/24', internal: false };
    const b = { bridge: 'stkb2', subnet: '10.209.1.0/24', internal: false };
    expect(rulesetRequests('p', [a, b])).toEqual(rulesetRequests('p', [b, a]));
  });

  it('deletes idempotently by declaring the table first', () => {
    expect(deleteRequests('p').map(line)).toEqual(['NFT_MSG_NEWTABLE table stack_p', 'NFT_MSG_DELTABLE table stack_p']);
  });
});

describe('intervalElements', () => {
  const text = (subnets: string[]) => intervalElements(subnets).map((e) => `${[...e.key].join('.')}${e.intervalEnd ? ' end' : ''}`);

  it('closes each prefix after its last address, and opens the set with an end at 0.0.0.0, as nft does', () => {
    expect(text(['10.250.0.0/24'])).toEqual(['0.0.0.0 end', '10.250.0.0', '10.250.1.0 end']);
  });

  it('sorts, drops repeats, and keeps adjacent prefixes apart (an end and a start at one address)', () => {
    expect(text(['10.250.5.0/24', '10.250.1.0/24', '10.250.0.0/24', '10.250.1.0/24'])).toEqual([
      '0.0.0.0 end', '10.250.0.0', '10.250.1.0 end', '10.250.1.0', '10.250.2.0 end', '10.250.5.0', '10.250.6.0 end',
    ]);
  });

  it('takes a prefix by its network (host bits ignored) and needs no end past the last address', () => {
    expect(text(['10.250.7.9/16'])).toEqual(['0.0.0.0 end', '10.250.0.0', '10.251.0.0 end']);
    expect(text(['0.0.0.0/0'])).toEqual(['0.0.0.0']);
    expect(text(['255.255.255.0/24'])).toEqual(['0.0.0.0 end', '255.255.255.0']);
  });

  it('refuses what is not an IPv4 prefix', () => {
    expect(() => intervalElements(['10.250.0.0'])).toThrow(/not an IPv4 prefix/);
    expect(() => intervalElements(['fd00::/64'])).toThrow(/not an IPv4 prefix/);
  });
});

describe('holesIn', () => {
  it('finds only the holes of the given project in an iptables -S listing', () => {
    const listing = [
      '-P FORWARD DROP',
      '-A FORWARD -j DOCKER-USER',
      '-A FORWARD -o stkb1 -m comment --comment "stack:p" -j ACCEPT',
      '-A FORWARD -i stkb1 -m comment --comment stack:p -j ACCEPT',
      '-A FORWARD -i stkb9 -m comment --comment "stack:p-2" -j ACCEPT',
      '-A FORWARD -i docker0 -o docker0 -j ACCEPT',
    ].join('\n');
    expect(holesIn(listing, 'p')).toEqual([
      { direction: 'o', bridge: 'stkb1' },
      { direction: 'i', bridge: 'stkb1' },
    ]);
  });
});
