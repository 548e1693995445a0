import { describe, expect, it } from 'vitest';
import { deleteScript, holesIn, rulesetScript } from '../../../src/network/firewall/index.js';

describe('rulesetScript', () => {
  it('replaces the project table atomically with isolation, internal networks and masquerade', () => {
    const script = rulesetScript('shop-2', [
      { bridge: 'stkb0000beef', subnet: '10.209.1.0/24', internal: true },
      { bridge: 'stkb0000abcd', subnet: '10.209.0.0/24', internal: false },
    ]);
    expect(script).toMatchInlineSnapshot(`
      "table inet stack_shop-2
      delete table inet stack_shop-2
      table inet stack_shop-2 {
      	comment "stack project shop-2: isolation, egress and masquerade of its bridges"

      	set bridges {
      		type ifname
      		elements = { "stkb0000abcd", "stkb0000beef" }
      	}

      	set internal {
      		type ifname
      		elements = { "stkb0000beef" }
      	}

      	set same_bridge {
      		type ifname . ifname
      		elements = { "stkb0000abcd" . "stkb0000abcd", "stkb0000beef" . "stkb0000beef" }
      	}

      	set egress {
      		type ipv4_addr
      		flags interval
      		elements = { 10.209.0.0/24 }
      	}

      	set no_link_local {
      		type ifname
      		elements = { "stkb0000abcd", "stkb0000beef" }
      	}

      	chain forward {
      		type filter hook forward priority filter - 10; policy accept;
      		iifname . oifname @same_bridge accept
      		iifname @internal drop
      		oifname @internal drop
      		iifname @bridges oifname "stk*" drop
      		oifname @bridges iifname "stk*" drop
      		oifname @bridges ct state established,related accept
      		oifname @bridges drop
      		iifname @no_link_local ip daddr 169.254.0.0/16 drop
      		iifname @no_link_local ct original ip daddr 169.254.0.0/16 drop
      		iifname @no_link_local ip6 daddr fe80::/10 drop
      		iifname @bridges accept
      	}

      	chain input {
      		type filter hook input priority filter - 10; policy accept;
      		iifname @no_link_local ip daddr 169.254.0.0/16 drop
      		iifname @no_link_local ct original ip daddr 169.254.0.0/16 drop
      		iifname @no_link_local ip6 daddr fe80::/10 meta l4proto { tcp, udp } drop
      	}

      	chain postrouting {
      		type nat hook postrouting priority srcnat; policy accept;
      		ip saddr @egress oifname != "stk*" masquerade
      	}
      }
      "
    `);
  });

  it('leaves sets empty rather than invalid when every network is internal', () => {
    const script = rulesetScript('p', [{ bridge: 'stkb1', subnet: '10.209.0.0/24', internal: true }]);
    expect(script).toContain('\tset egress {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t}');
  });

  it('drops link-local egress (the metadata service) except from networks that allow it', () => {
    const script = rulesetScript('p', [
      { bridge: 'stkb1', subnet: '10.209.0.0/24', internal: false },
      { bridge: 'stkb2', subnet: '10.209.1.0/24', internal: false, allowLinkLocal: true },
    ]);
    expect(script).toContain('\tset no_link_local {\n\t\ttype ifname\n\t\telements = { "stkb1" }\n\t}');
    expect(script).toContain('\t\tiifname @no_link_local ip daddr 169.254.0.0/16 drop\n');
    // On the input hook too (an address the host holds or DNATs to itself), v6 for TCP/UDP only: ND passes.
    const input = script.slice(script.indexOf('\tchain input {'));
    expect(input).toContain('\t\tiifname @no_link_local ct original ip daddr 169.254.0.0/16 drop\n');
    expect(input).toContain('\t\tiifname @no_link_local ip6 daddr fe80::/10 meta l4proto { tcp, udp } drop\n');
  });

  it('is the same text whatever order the networks come in', () => {
    const a = { bridge: 'stkb1', subnet: '10.209.0.0/24', internal: false };
    const b = { bridge: 'stkb2', subnet: '10.209.1.0/24', internal: false };
    expect(rulesetScript('p', [a, b])).toBe(rulesetScript('p', [b, a]));
  });

  it('deletes idempotently by declaring the table first', () => {
    expect(deleteScript('p')).toBe('table inet stack_p\ndelete table inet stack_p\n');
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
