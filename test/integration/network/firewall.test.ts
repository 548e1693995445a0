// The firewall, the DNS forwarder and the published ports on the real kernel, inside a lab of
// throwaway namespaces: one plays the host (bridges, ip_forward, Docker's FORWARD DROP with
// br_netfilter, our nft table), one plays the outside world (a TCP server and a resolver, and the
// cloud metadata address 169.254.169.254; no route back to the services, so only masquerade lets
// replies return), one per service. The firewall is applied the way `up` applies it: network
// records in a temp state root, then the create-network handler's syncProjectFirewall; `down`
// and `gc` remove it with removeFirewall. Every lab sets the sysctls it depends on in its own
// namespaces, and the matrix runs each host policy with net.ipv4.ip_forward 0 and 1.
// Nothing touches the real host's interfaces, sysctls or firewall.
import { existsSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../../harness/require.js';
import { bridgeName, nftTableName, vethHostName } from '../../../src/names.js';
import { allocate, type IpamRecord } from '../../../src/network/ipam.js';
import { nameTable } from '../../../src/network/peers.js';
import { removeFirewall, type FirewallNetwork } from '../../../src/network/firewall/index.js';
import { applyRuleset } from '../../../src/network/firewall/nft.js';
import { syncProjectFirewall, type FirewallContext } from '../../../src/executor/handlers/firewall.js';
import { serialized } from '../../../src/state/atomic.js';
import { networkRecords } from '../../../src/state/records.js';
import type { StateRoots } from '../../../src/state/paths.js';
import type { Project } from '../../../src/spec/project.js';
import { Lab, METADATA, OUTSIDE, UPLINK } from './lab.js';

type Probe = { ok: true; line: string } | { ok: false; code: string };
type Policy = 'iptables-nft DROP' | 'iptables-legacy DROP' | 'no DROP policy';

/** ECS's credentials address: the lab's host DNATs it to a daemon on its own 127.0.0.1 (input, not forward). */
const ECS = '169.254.170.2';
const ECS_PROXY_PORT = '51679';
const NOTICE = 'net.ipv4.ip_forward was 0: turned it on so services reach the outside';
const BLOCKED = { ok: false, code: 'TIMEOUT' };

let agentBundle: string;
beforeAll(async () => {
  agentBundle = join(tmpdir(), `stack-host-agent-${process.pid}-${Date.now()}.mjs`);
  await build({
    entryPoints: [join(import.meta.dirname, 'programs/host-agent.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: agentBundle,
    logLevel: 'error',
  });
});
afterAll(async () => {
  await rm(agentBundle, { force: true });
});

/**
 * br_netfilter is what hands bridged frames to iptables (Docker loads it). Built in here; where
 * it is a module, `modprobe br_netfilter` is tried, and a clear failure says when it is missing.
 */
async function requireBrNetfilter(lab: Lab): Promise<void> {
  if (existsSync('/proc/sys/net/bridge')) return;
  const tried = await lab.run('modprobe', 'br_netfilter').then(
    () => 'modprobe br_netfilter ran',
    (e: Error) => `modprobe br_netfilter failed: ${e.message}`,
  );
  if (!existsSync('/proc/sys/net/bridge')) throw new Error(`br_netfilter is not available on this kernel (${tried})`);
}

/** The lab of one host: two projects' networks in one host netns, and everyone's address. */
async function makeLab(lab: Lab, policy: Policy, ipForward: '0' | '1', roots: StateRoots) {
  const project = `t${lab.id}`;
  const other = `t${lab.id}x`;
  const host = await lab.netns('host', { 'net.ipv4.ip_forward': ipForward });
  const outside = await lab.netns('out');
  await lab.uplink(host, outside);
  // As the ECS agent sets its host up: 169.254.170.2:80 DNATed to a proxy on the host's loopback.
  await lab.sysctl(host, { 'net.ipv4.conf.all.route_localnet': '1' });
  await lab.in(
    host,
    'nft',
    `add table ip ecs; add chain ip ecs prerouting { type nat hook prerouting priority dstnat; }; ` +
      `add rule ip ecs prerouting ip daddr ${ECS} tcp dport 80 dnat to 127.0.0.1:${ECS_PROXY_PORT}`,
  );
  await requireBrNetfilter(lab);
  await lab.sysctl(host, { 'net.bridge.bridge-nf-call-iptables': '1' });
  if (policy === 'iptables-nft DROP') await lab.in(host, 'iptables-nft', '-w', '-P', 'FORWARD', 'DROP');
  if (policy === 'iptables-legacy DROP') await lab.in(host, 'iptables-legacy', '-w', '-P', 'FORWARD', 'DROP');

  const services = { a1: 'front', a2: 'front', b1: 'back', i1: 'vault' } as const;
  const ipam = allocate({
    networks: { front: { ipam: [] }, back: { ipam: [] }, vault: { ipam: [] } },
    services: Object.fromEntries(Object.entries(services).map(([s, n]) => [s, { networks: { [n]: {} } }])),
    reserved: [`${UPLINK}/24`],
  });
  const otherIpam = allocate({
    networks: { default: { ipam: [] } },
    services: { c1: { networks: { default: {} } } },
    reserved: [`${UPLINK}/24`, ...Object.values(ipam.networks).map((n) => n.subnet)],
  });
  const ns: Record<string, string> = {};
  const ip: Record<string, string> = {};
  const wire = async (proj: string, record: IpamRecord, service: string, network: string) => {
    const alloc = record.networks[network]!;
    ns[service] = await lab.netns(service);
    ip[service] = alloc.addresses[service]!;
    await lab.attach(
      host,
      bridgeName(proj, network),
      vethHostName(proj, service, network),
      ns[service],
      `${ip[service]}/24`,
      alloc.gateway,
    );
  };
  for (const [proj, record] of [
    [project, ipam],
    [other, otherIpam],
  ] as const) {
    for (const [key, alloc] of Object.entries(record.networks))
      await lab.bridge(host, bridgeName(proj, key), `${alloc.gateway}/24`);
  }
  await Promise.all([
    ...Object.entries(services).map(([service, network]) => wire(project, ipam, service, network)),
    wire(other, otherIpam, 'c1', 'default'),
  ]);

  // What create-network records for each network; `back` opts in to link-local egress.
  const record = (proj: string, ipamRecord: IpamRecord, internal: string[] = [], linkLocal: string[] = []) =>
    Promise.all(
      Object.entries(ipamRecord.networks).map(([key, n]) =>
        networkRecords.write(roots, {
          version: 1,
          kind: 'network',
          project: proj,
          key,
          bootId: 'lab',
          config: { hash: 'lab', fields: {} },
          bridge: bridgeName(proj, key),
          subnet: n.subnet,
          gateway: n.gateway,
          internal: internal.includes(key),
          ...(linkLocal.includes(key) && { allowLinkLocal: true }),
        }),
      ),
    );
  await record(project, ipam, ['vault'], ['back']);
  await record(other, otherIpam);
  const names = {
    services: Object.fromEntries(
      Object.entries(services).map(([s, n]) => [
        s,
        { hostname: s, networks: { [n]: { aliases: [`${s}-alias`], priority: 0 } }, extraHosts: [] },
      ]),
    ),
  };
  const [agent] = await Promise.all([
    lab.daemon(
      host,
      agentBundle,
      JSON.stringify({
        listeners: (['front', 'vault'] as const).map((n) => ({
          address: ipam.networks[n]!.gateway,
          names: [...nameTable(names, ipam, n)],
          forward: n !== 'vault',
        })),
        upstreams: [{ address: OUTSIDE }],
        ports: (
          [
            [9090, 'tcp'],
            [8080, 'tcp'],
            [9091, 'udp'],
          ] as const
        ).map(([targetPort, protocol]) => ({
          service: 'a1',
          hostIp: '127.0.0.1',
          hostPort: 0,
          protocol,
          targetIp: ip.a1,
          targetPort,
        })),
      }),
    ),
    ...Object.values(ns).map((n) => lab.daemon(n, 'greet.mjs')),
    lab.daemon(outside, 'greet.mjs'),
    lab.daemon(outside, 'dns-server.mjs', OUTSIDE, OUTSIDE),
    lab.daemon(host, 'on-loopback.mjs', ECS_PROXY_PORT),
  ]);
  const published = (JSON.parse(agent.slice('ready '.length)) as { boundPort: number }[]).map((p) => p.boundPort);
  return {
    project,
    other,
    host,
    outside,
    ns,
    ip,
    ipam,
    published,
    bridges: Object.keys(ipam.networks).map((key) => bridgeName(project, key)),
    /** Connects from one netns to each target (address, or address:port; 8080 by default) at once. */
    probe: (from: string, ...targets: string[]) =>
      lab.program<Probe[]>(from, 'probe.mjs', '1200', ...targets.map((t) => (t.includes(':') ? t : `${t}:8080`))),
    resolve: (from: string, server: string, ...names: string[]) =>
      lab.program<unknown[]>(from, 'resolve.mjs', server, ...names),
  };
}

/** The context the create-network handler gets, for one project of the lab, and its notices. */
function runContext(project: string, roots: StateRoots, netnsPath: string, ipForward: 'enable' | 'leave') {
  const notices: string[] = [];
  const ctx: FirewallContext = {
    project: { name: project } as Project,
    roots,
    env: { supervisor: undefined as never, firewallTarget: { netnsPath }, ipForward },
    serial: (key, work) => serialized(`${roots.run}\0${project}\0${key}`, work),
    notice: (message) => void notices.push(message),
  };
  return { ctx, notices };
}

const POLICIES = ['iptables-nft DROP', 'iptables-legacy DROP', 'no DROP policy'] as const;
for (const policy of POLICIES)
  for (const ipForward of ['0', '1'] as const) {
    // DNS and published ports do not depend on the host's firewall: checked once, on a Docker-like host.
    const full = policy === 'iptables-nft DROP' && ipForward === '1';
    // With forwarding off, `up` turns it on (STACK_IP_FORWARD unset); with it on, the suite's `leave`.
    const mode = ipForward === '0' ? 'enable' : 'leave';
    describeWith(
      { root: true, commands: ['ip', 'nft', 'nsenter', 'sysctl', 'iptables-nft', 'iptables-legacy'] },
      `firewall on a host with ${policy}, net.ipv4.ip_forward=${ipForward}`,
      () => {
        const lab = new Lab();
        let roots: StateRoots;
        let l: Awaited<ReturnType<typeof makeLab>>;
        let dir: string;
        const target = () => ({ netnsPath: lab.path(l.host) });
        const up = async (project: string) => {
          const { ctx, notices } = runContext(project, roots, lab.path(l.host), mode);
          await syncProjectFirewall(ctx);
          return notices;
        };
        const hostForward = async () => (await lab.in(l.host, 'cat', '/proc/sys/net/ipv4/ip_forward')).trim();

        beforeAll(async () => {
          dir = mkdtempSync(join(tmpdir(), 'stack-fw-'));
          roots = { run: join(dir, 'run'), lib: join(dir, 'lib') };
          l = await makeLab(lab, policy, ipForward, roots);
        });
        afterAll(async () => {
          try {
            await lab.cleanup();
          } finally {
            await rm(dir, { recursive: true, force: true });
          }
        });

        it('(control) without the table, the lab behaves like the host it plays', async () => {
          expect(await hostForward()).toBe(ipForward);
          // The host's DNAT of the ECS address to its loopback works, whatever the FORWARD policy.
          expect(await l.probe(l.ns.a1!, `${ECS}:80`)).toEqual([{ ok: true, line: l.ip.a1 }]);
          if (policy !== 'no DROP policy') {
            // br_netfilter hands bridged frames to iptables, whose DROP policy stops even same-bridge traffic.
            expect(await l.probe(l.ns.a1!, l.ip.a2!)).toEqual([BLOCKED]);
          } else if (ipForward === '1') {
            // Routed between two bridges and to the metadata address: nothing isolates the networks yet.
            expect(await l.probe(l.ns.a1!, l.ip.b1!, `${METADATA}:8080`)).toEqual([
              { ok: true, line: l.ip.a1 },
              { ok: false, code: 'TIMEOUT' }, // no masquerade yet: the outside cannot answer
            ]);
          } else {
            expect(await l.probe(l.ns.a1!, l.ip.a2!)).toEqual([{ ok: true, line: l.ip.a1 }]);
          }
        });

        if (policy !== 'no DROP policy')
          it('(finding) an nft accept, even at a priority before iptables, cannot overrule its DROP policy', async () => {
            // Every base chain on the hook runs; an accept only ends its own chain, a drop anywhere is final.
            const networks: FirewallNetwork[] = l.bridges.map((bridge) => ({ bridge, subnet: '10.0.0.0/8', internal: false }));
            await applyRuleset(l.project, networks, target());
            expect(await lab.in(l.host, 'nft', 'list', 'chain', 'inet', nftTableName(l.project), 'forward')).toContain(
              'priority filter - 10',
            );
            expect(await l.probe(l.ns.a1!, l.ip.a2!)).toEqual([BLOCKED]);
          });

        it(`applies both projects as up does, ${mode === 'enable' ? 'turning on forwarding and saying so' : 'leaving forwarding alone'}`, async () => {
          expect(await up(l.project)).toEqual(mode === 'enable' ? [NOTICE] : []);
          expect(await up(l.other)).toEqual([]);
          expect(await hostForward()).toBe('1');
          expect(await lab.in(l.host, 'nft', 'list', 'tables')).toContain(`table inet ${nftTableName(l.project)}`);
          expect((await lab.in(l.host, 'nft', 'list', 'tables')).split('\n')).toContain(`table inet ${nftTableName(l.other)}`);
        });

        it('lets services on one bridge talk, with their own addresses, and reach the outside masqueraded', async () => {
          expect(await l.probe(l.ns.a1!, l.ip.a2!, OUTSIDE)).toEqual([
            { ok: true, line: l.ip.a1 },
            { ok: true, line: UPLINK },
          ]);
          expect(await l.probe(l.ns.a2!, l.ip.a1!)).toEqual([{ ok: true, line: l.ip.a2 }]);
          expect(await l.probe(l.ns.c1!, OUTSIDE)).toEqual([{ ok: true, line: UPLINK }]);
        });

        it('keeps different bridges apart, within a project and across projects; internal has no way out', async () => {
          const results = await Promise.all([
            l.probe(l.ns.a1!, l.ip.b1!, l.ip.i1!, l.ip.c1!),
            l.probe(l.ns.b1!, l.ip.a1!, l.ip.c1!),
            l.probe(l.ns.i1!, l.ip.a1!, OUTSIDE),
            l.probe(l.ns.c1!, l.ip.a1!, l.ip.b1!),
          ]);
          expect(results).toEqual([
            [BLOCKED, BLOCKED, BLOCKED],
            [BLOCKED, BLOCKED],
            [BLOCKED, BLOCKED],
            [BLOCKED, BLOCKED],
          ]);
        });

        it('drops egress to the metadata address (169.254.0.0/16) unless the network allows link-local', async () => {
          const results = await Promise.all([
            l.probe(l.ns.a1!, `${METADATA}:8080`, OUTSIDE),
            l.probe(l.ns.c1!, `${METADATA}:8080`),
            l.probe(l.ns.i1!, `${METADATA}:8080`),
            l.probe(l.ns.b1!, `${METADATA}:8080`),
          ]);
          expect(results).toEqual([
            [BLOCKED, { ok: true, line: UPLINK }],
            [BLOCKED],
            [BLOCKED],
            [{ ok: true, line: UPLINK }], // x-stack-allow-link-local: true on `back`
          ]);
        });

        it('drops a link-local address the host DNATs to itself (input hook) unless the network allows link-local', async () => {
          const results = await Promise.all([
            l.probe(l.ns.a1!, `${ECS}:80`),
            l.probe(l.ns.i1!, `${ECS}:80`),
            l.probe(l.ns.c1!, `${ECS}:80`),
            l.probe(l.ns.b1!, `${ECS}:80`),
          ]);
          expect(results).toEqual([
            [BLOCKED],
            [BLOCKED],
            [BLOCKED],
            [{ ok: true, line: l.ip.b1 }], // x-stack-allow-link-local: true on `back`
          ]);
          if (!full) return;
          // ICMPv6 to the bridge's own fe80:: address is not dropped: neighbour discovery works.
          const front = bridgeName(l.project, 'front');
          const addr = JSON.parse(await lab.in(l.host, 'ip', '-j', '-6', 'addr', 'show', 'dev', front, 'scope', 'link'))[0]
            .addr_info[0].local as string;
          expect(addr).toMatch(/^fe80:/);
          expect(await lab.in(l.ns.a1!, 'ping', '-6', '-c1', '-W5', `${addr}%eth0`)).toContain('1 received');
        });

        if (full)
          it('lets nothing from outside into a bridge unasked', async () => {
            await lab.ip('-n', l.outside, 'route', 'add', '10.209.0.0/16', 'via', UPLINK);
            try {
              expect(await l.probe(l.outside, l.ip.a1!)).toEqual([BLOCKED]);
            } finally {
              await lab.ip('-n', l.outside, 'route', 'del', '10.209.0.0/16', 'via', UPLINK);
            }
          });
        if (full)
          it('resolves peers on the gateway and relays other names to the host resolver; internal relays nothing', async () => {
            const front = l.ipam.networks.front!.gateway;
            const vault = l.ipam.networks.vault!.gateway;
            expect(await l.resolve(l.ns.a1!, front, 'a2', 'a2-alias', 'outside.test', 'b1')).toEqual([
              { addresses: [l.ip.a2] },
              { addresses: [l.ip.a2] },
              { addresses: [OUTSIDE] },
              { code: 'ENOTFOUND' },
            ]);
            expect(await l.resolve(l.ns.i1!, vault, 'i1', 'outside.test')).toEqual([
              { addresses: [l.ip.i1] },
              { code: 'ENOTFOUND' },
            ]);
          });

        if (full)
          it('publishes service ports on the host: TCP 100 MiB both ways intact, 200 concurrent connections; UDP', async () => {
            const [echo, greet, udp] = l.published;
            expect(
              await lab.program(l.host, 'transfer.mjs', '127.0.0.1', String(echo), String(100 * 1024 * 1024), '1'),
            ).toEqual({ connections: 1, intact: 1, bytes: 100 * 1024 * 1024 });
            expect(
              await lab.program(l.host, 'transfer.mjs', '127.0.0.1', String(echo), String(64 * 1024), '200'),
            ).toEqual({ connections: 200, intact: 200, bytes: 200 * 64 * 1024 });
            expect(await l.probe(l.host, `127.0.0.1:${greet}`)).toEqual([
              { ok: true, line: l.ipam.networks.front!.gateway },
            ]);
            expect(await lab.program(l.host, 'udp.mjs', '127.0.0.1', String(udp), 'ping')).toEqual({
              reply: 'echo:ping',
            });
          });

        it('opens iptables only where a FORWARD policy is DROP, tagged with the project', async () => {
          const backend = policy === 'iptables-legacy DROP' ? 'iptables-legacy' : 'iptables-nft';
          const rules = (await lab.in(l.host, backend, '-w', '-S', 'FORWARD'))
            .split('\n')
            .filter((r) => r.includes(`stack:${l.project}"`));
          expect(rules).toHaveLength(policy === 'no DROP policy' ? 0 : 2 * l.bridges.length);
        });

        it('removes the table and holes as remove-network, down and gc do, twice without complaint', async () => {
          // remove-network: the firewall is rewritten without the network, then its record goes.
          const { records } = await networkRecords.list(roots, l.project);
          for (const r of records) {
            const { ctx } = runContext(l.project, roots, lab.path(l.host), mode);
            await syncProjectFirewall(ctx, r.key);
            await networkRecords.remove(roots, l.project, r.key);
          }
          // (the other project's table, named after this one's and more, is still there)
          expect((await lab.in(l.host, 'nft', 'list', 'tables')).split('\n')).not.toContain(`table inet ${nftTableName(l.project)}`);
          // down after a crash, and gc: the whole firewall of a project at once.
          for (const proj of [l.other, l.other, l.project]) await removeFirewall(proj, target());
          expect(await lab.in(l.host, 'nft', 'list', 'tables')).not.toContain('stack_');
          for (const backend of ['iptables-nft', 'iptables-legacy']) {
            expect(await lab.in(l.host, backend, '-w', '-S', 'FORWARD')).not.toContain('stack:');
          }
        });
      },
    );
  }
