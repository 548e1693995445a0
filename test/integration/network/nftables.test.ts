// stack's nf_tables over netlink on the real kernel, in throwaway namespaces: the table its
// requests make is the table nft makes from the same rules written in nft's language
// (nft-script.ts), as nft lists it and down to each rule's expressions; a batch is one
// transaction; and iptables-nft's FORWARD chain is read over netlink, so iptables is started
// only when there is something to change. What the table does to traffic: firewall.test.ts.
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../../harness/require.js';
import { nftTableName } from '../../../src/names.js';
import { tableComment, type FirewallNetwork } from '../../../src/network/firewall/index.js';
import { applyRuleset, withNftSocket } from '../../../src/network/firewall/nft.js';
import { forwardChain, syncForwardHoles } from '../../../src/network/firewall/iptables.js';
import { cmp, lookup, newRule, newTable, NFPROTO_INET, NFT_CMP_EQ, NFT_REG_1, verdict, NF_DROP } from '../../../src/network/nl/index.js';
import { KernelError } from '../../../src/errors.js';
import { rulesetScript } from './nft-script.js';
import { Lab } from './lab.js';

const MIXES: Record<string, FirewallNetwork[]> = {
  'one network': [{ bridge: 'stkb1', subnet: '10.209.0.0/24', internal: false }],
  'internal and not, given out of order': [
    { bridge: 'stkb0000beef', subnet: '10.209.1.0/24', internal: true },
    { bridge: 'stkb0000abcd', subnet: '10.209.0.0/24', internal: false },
  ],
  'adjacent and apart subnets, one allowing link-local': [
    { bridge: 'stkb3', subnet: '10.209.5.0/24', internal: false },
    { bridge: 'stkb1', subnet: '10.209.0.0/24', internal: false },
    { bridge: 'stkb2', subnet: '10.209.1.0/24', internal: false, allowLinkLocal: true },
  ],
  'only internal': [{ bridge: 'stkb1', subnet: '10.209.0.0/24', internal: true }],
  'every network allowing link-local': [{ bridge: 'stkb1', subnet: '172.30.0.0/16', internal: false, allowLinkLocal: true }],
};

/** A project name past what fits the table's comment in full (nft reads back 128 characters). */
const LONG = `p-${'long'.repeat(40)}`;

/**
 * `nft list table` with set elements in a fixed order: nft lists a hash set's elements in the
 * kernel's order, which depends on the set's random hash seed, not on how they were added.
 */
function canonical(listing: string): string {
  const out: string[] = [];
  let elements: string[] = [];
  for (const line of listing.replace(/ handle \d+/g, '').split('\n')) {
    if (/^\s+element /.test(line)) {
      elements.push(line);
      continue;
    }
    out.push(...elements.sort(), line);
    elements = [];
  }
  return [...out, ...elements.sort()].join('\n');
}

describeWith({ root: true, commands: ['ip', 'nft', 'iptables-nft'] }, 'nf_tables over netlink', () => {
  const lab = new Lab();
  let byNft: string;
  let byStack: string;
  const at = (ns: string) => ({ netnsPath: lab.path(ns) });
  /** `nft -f -` of `script` in the lab's namespace `ns`. */
  const nftLoad = (ns: string, script: string) => lab.run('ip', 'netns', 'exec', ns, 'sh', '-c', `printf '%s' "$0" | nft -f -`, script);

  beforeAll(async () => {
    byNft = await lab.netns('nft');
    byStack = await lab.netns('stack');
  });
  afterAll(async () => {
    await lab.cleanup();
  });

  it.each(Object.keys(MIXES))('makes the table nft makes from the same rules: %s', async (mix) => {
    const networks = MIXES[mix]!;
    const project = `p-${Object.keys(MIXES).indexOf(mix)}`;
    const table = nftTableName(project);
    await nftLoad(byNft, rulesetScript(project, networks));
    await applyRuleset(project, networks, at(byStack));
    for (const debug of [[], ['--debug=netlink']]) {
      const [theirs, ours] = await Promise.all(
        [byNft, byStack].map((ns) => lab.in(ns, 'nft', ...debug, 'list', 'table', 'inet', table)),
      );
      expect(canonical(ours!)).toBe(canonical(theirs!));
    }
    expect(await lab.in(byStack, 'nft', 'list', 'table', 'inet', table)).toContain('ip saddr @egress oifname != "stk*" masquerade');
  });

  it('keeps the comment of a long project name within what nft reads back, so a listed ruleset loads again', async () => {
    const networks = MIXES['one network']!;
    const saved = await lab.netns('saved');
    expect(tableComment(LONG).length).toBeLessThanOrEqual(128);
    await applyRuleset(LONG, networks, at(saved));
    const ruleset = await lab.in(saved, 'nft', 'list', 'ruleset');
    expect(ruleset).toContain(`comment "${tableComment(LONG)}"`);
    // What an admin's `nft list ruleset > f; nft flush ruleset; nft -f f` does with it.
    await lab.in(saved, 'nft', 'flush', 'ruleset');
    await nftLoad(saved, ruleset);
    expect(await lab.in(saved, 'nft', 'list', 'ruleset')).toBe(ruleset);
    await applyRuleset(LONG, [], at(saved));
    expect(await lab.in(saved, 'nft', 'list', 'ruleset')).toBe('');
  });

  it('replaces a table in one transaction, and removes it, twice without complaint', async () => {
    const project = 'replaced';
    const [first, second] = [MIXES['one network']!, MIXES['internal and not, given out of order']!];
    await applyRuleset(project, first, at(byStack));
    await applyRuleset(project, second, at(byStack));
    await nftLoad(byNft, rulesetScript(project, second));
    const list = (ns: string) => lab.in(ns, 'nft', 'list', 'table', 'inet', nftTableName(project));
    expect(canonical(await list(byStack))).toBe(canonical(await list(byNft)));
    expect(await list(byStack)).not.toContain('"stkb1"');
    expect(await lab.in(byStack, 'nft', 'list', 'tables')).toContain(`table inet ${nftTableName(project)}`);
    await applyRuleset(project, [], at(byStack));
    await applyRuleset(project, [], at(byStack));
    expect(await lab.in(byStack, 'nft', 'list', 'tables')).not.toContain(nftTableName(project));
  });

  it('applies all of a batch or nothing, and names the request the kernel refused', async () => {
    const table = nftTableName('refused');
    const error = await Promise.resolve()
      .then(() =>
        withNftSocket(at(byStack), (socket) =>
          socket.batch([
            newTable(NFPROTO_INET, table),
            // a rule in a chain that does not exist
            newRule(NFPROTO_INET, table, 'nowhere', [cmp(NFT_REG_1, NFT_CMP_EQ, Buffer.from([1])), verdict(NF_DROP)], 'a rule of no chain'),
            newRule(NFPROTO_INET, table, 'nowhere', [lookup(NFT_REG_1, { name: 'none', id: 99 }), verdict(NF_DROP)], 'another'),
          ]),
        ),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KernelError);
    expect((error as KernelError).errno).toBe('ENOENT');
    expect((error as KernelError).message).toMatch(/^NFT_MSG_NEWRULE rule in stack_refused nowhere: a rule of no chain: ENOENT/);
    expect(await lab.in(byStack, 'nft', 'list', 'tables')).not.toContain(table); // the first request was undone too
  });

  it('says at once when the kernel answers nothing (a batch it cannot parse), rather than waiting for answers that never come', async () => {
    const table = nftTableName('unparsed');
    const good = newTable(NFPROTO_INET, table);
    // A request too short for its nfgenmsg: the kernel drops the whole batch without a word.
    const broken = { ...good, body: good.body.subarray(0, 2), what: 'cut short' };
    const began = Date.now();
    const error = await Promise.resolve()
      .then(() => withNftSocket(at(byStack), (socket) => socket.batch([good, broken])))
      .catch((e: unknown) => e);
    expect(Date.now() - began).toBeLessThan(5000); // the socket's receive timeout is 10 s
    expect(String(error)).toContain(`NFT_MSG_NEWTABLE table ${table}: the kernel answered 0 of the batch's 2 requests and no more (first unanswered: NFT_MSG_NEWTABLE table ${table})`);
    expect(await lab.in(byStack, 'nft', 'list', 'tables')).not.toContain(table);
  });

  it('reads iptables-nft\'s FORWARD chain over netlink, and starts iptables only when a hole is to be made or removed', async () => {
    const host = await lab.netns('host');
    const dir = mkdtempSync(join(tmpdir(), 'stack-iptables-'));
    const calls = join(dir, 'calls');
    writeFileSync(calls, '');
    // iptables-nft as PATH finds it: the real one, each start written down.
    const real = (await lab.run('sh', '-c', 'command -v iptables-nft')).trim();
    writeFileSync(join(dir, 'iptables-nft'), `#!/bin/sh\necho "$*" >> ${calls}\nexec ${real} "$@"\n`);
    chmodSync(join(dir, 'iptables-nft'), 0o755);
    const path = process.env.PATH;
    process.env.PATH = `${dir}:${path ?? ''}`;
    const started = () => readFileSync(calls, 'utf8').split('\n').filter(Boolean);
    try {
      expect(await forwardChain(at(host), 'p')).toBeUndefined(); // no `ip filter` table at all
      expect(await syncForwardHoles('p', ['stkb1'], at(host))).toEqual([]);
      expect(started()).toEqual([]);

      await lab.in(host, 'iptables-nft', '-w', '-P', 'FORWARD', 'DROP');
      expect(await forwardChain(at(host), 'p')).toEqual({ policyDrop: true, holes: false });
      expect(await syncForwardHoles('p', ['stkb1'], at(host))).toEqual(['iptables-nft']);
      expect(started().length).toBeGreaterThan(0);
      // The comment ends where the project's name does: p's holes are not p-2's.
      expect(await forwardChain(at(host), 'p')).toEqual({ policyDrop: true, holes: true });
      expect(await forwardChain(at(host), 'p-2')).toEqual({ policyDrop: true, holes: false });

      // Policy ACCEPT again (Docker gone): p's holes are still there to close, iptables runs once more.
      await lab.in(host, 'iptables-nft', '-w', '-P', 'FORWARD', 'ACCEPT');
      writeFileSync(calls, '');
      expect(await syncForwardHoles('p', ['stkb1'], at(host))).toEqual([]);
      expect(started().length).toBeGreaterThan(0);
      expect(await lab.in(host, 'iptables-nft', '-w', '-S', 'FORWARD')).not.toContain('stack:p');
      // Nothing left to close: iptables is not started.
      writeFileSync(calls, '');
      expect(await forwardChain(at(host), 'p')).toEqual({ policyDrop: false, holes: false });
      expect(await syncForwardHoles('p', ['stkb1'], at(host))).toEqual([]);
      expect(started()).toEqual([]);
    } finally {
      process.env.PATH = path;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
