// A project's whole network set up and torn down through the driver, inside a throwaway netns
// that plays the host: bridges per network, veths per (service, network) with eth0, eth1, ...
// inside, addresses from the allocation, the default route via the first non-internal network.
import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { describeWith } from '../../harness/require.js';
import { KernelError } from '../../../src/errors.js';
import { bridgeName, netnsName, vethHostName } from '../../../src/names.js';
import {
  addrList, linkList, netnsAdd, netnsDelete, netnsList, netnsPath, observeProjectNetwork, openHandle, openNetworkDriver, projectLinkGroup,
  setupProjectNetwork, teardownProjectNetwork, type ProjectNetworkSpec,
} from '../../../src/network/index.js';
import { AF_INET } from '../../../src/network/nl/index.js';
import { echoServer, ready, Scratch, tcpProbe, uniq } from './fixture.js';

function project(): ProjectNetworkSpec {
  return {
    project: `t${uniq()}`,
    networks: { front: { internal: false, external: false }, back: { internal: true, external: false } },
    services: {
      web: { networks: { front: { priority: 0 }, back: { priority: 0 } } },
      db: { networks: { back: { priority: 0 } } },
      worker: { networks: { front: { priority: 0 } } },
    },
    ipam: {
      version: 1,
      networks: {
        front: {
          subnet: '10.251.1.0/24',
          gateway: '10.251.1.1',
          addresses: { web: '10.251.1.2', worker: '10.251.1.3' },
        },
        back: { subnet: '10.251.2.0/24', gateway: '10.251.2.1', addresses: { web: '10.251.2.2', db: '10.251.2.3' } },
      },
    },
  };
}

describeWith({ root: true, commands: ['nsenter'] }, 'project network setup and teardown', () => {
  const s = new Scratch();
  let spec: ProjectNetworkSpec | undefined;
  let hostNs: string | undefined;
  afterEach(async () => {
    try {
      if (spec) teardownProjectNetwork(spec, hostNs);
    } finally {
      spec = hostNs = undefined;
      await s.cleanup();
    }
  });

  function begin(): { spec: ProjectNetworkSpec; hostNs: string } {
    spec = project();
    hostNs = s.netns('host');
    for (const svc of Object.keys(spec.services)) s.adopt(netnsName(spec.project, svc));
    return { spec, hostNs };
  }

  it('builds bridges, namespaces, veths, addresses and default routes that carry TCP', async () => {
    const { spec, hostNs } = begin();
    setupProjectNetwork(spec, openNetworkDriver(hostNs));
    const p = spec.project;
    const seen = observeProjectNetwork(spec, hostNs);

    expect(seen.bridges).toEqual([
      { network: 'back', name: bridgeName(p, 'back'), present: true, up: true, alias: `stack:${p}/back`,
        addresses: ['10.251.2.1/24'] },
      { network: 'front', name: bridgeName(p, 'front'), present: true, up: true, alias: `stack:${p}/front`,
        addresses: ['10.251.1.1/24'] },
    ]);
    const web = seen.services.find((x) => x.service === 'web')!;
    expect(web).toEqual({
      service: 'web',
      netns: netnsName(p, 'web'),
      present: true,
      defaultGateway: '10.251.1.1', // front: the first non-internal network, though it is eth1
      veths: [
        {
          network: 'back',
          host: vethHostName(p, 'web', 'back'),
          present: true,
          up: true,
          alias: `stack:${p}/back/web`,
          master: bridgeName(p, 'back'),
          peer: { name: 'eth0', up: true, addresses: ['10.251.2.2/24'] },
        },
        {
          network: 'front',
          host: vethHostName(p, 'web', 'front'),
          present: true,
          up: true,
          alias: `stack:${p}/front/web`,
          master: bridgeName(p, 'front'),
          peer: { name: 'eth1', up: true, addresses: ['10.251.1.2/24'] },
        },
      ],
    });
    const db = seen.services.find((x) => x.service === 'db')!;
    expect(db.defaultGateway).toBeUndefined(); // only on an internal network
    expect(db.veths.map((v) => v.peer?.name)).toEqual(['eth0']);
    const h = s.handle(hostNs);
    const group = projectLinkGroup(p);
    expect(linkList(h).filter((l) => l.group === group).length).toBe(2 + 4);
    expect(linkList(s.handle(netnsName(p, 'db'))).find((l) => l.name === 'lo')!.up).toBe(true);
    // ping without CAP_NET_RAW: the range opened as each namespace was made (ping-group.ts; a new
    // namespace starts at the kernel's default, `1 0`, whatever the host has).
    const pingRange = (svc: string) => execFileSync('nsenter', [`--net=/run/netns/${netnsName(p, svc)}`, 'cat', '/proc/sys/net/ipv4/ping_group_range'], { encoding: 'utf8' });
    for (const svc of ['web', 'db', 'worker']) expect(pingRange(svc).trim().split(/\s+/)).toEqual(['0', '2147483647']);

    // web and db talk over back; worker reaches web over front; db's loopback works.
    await ready(s.node(netnsName(p, 'db'), echoServer('10.251.2.3', 5432)));
    expect(tcpProbe(netnsName(p, 'web'), '10.251.2.3', 5432)).toBe('hello-5432');
    expect(tcpProbe(netnsName(p, 'db'), '127.0.0.1', 5432)).toBe('ECONNREFUSED');
    await ready(s.node(netnsName(p, 'web'), echoServer('0.0.0.0', 8080)));
    expect(tcpProbe(netnsName(p, 'worker'), '10.251.1.2', 8080)).toBe('hello-8080');
  });

  it('tears down everything, and again without error', () => {
    const { spec, hostNs } = begin();
    setupProjectNetwork(spec, openNetworkDriver(hostNs));
    teardownProjectNetwork(spec, hostNs);
    const seen = observeProjectNetwork(spec, hostNs);
    expect(seen.bridges.filter((b) => b.present)).toEqual([]);
    expect(seen.services.filter((x) => x.present || x.veths.some((v) => v.present))).toEqual([]);
    const names = new Set(netnsList());
    for (const svc of Object.keys(spec.services)) expect(names.has(netnsName(spec.project, svc))).toBe(false);
    expect(linkList(s.handle(hostNs)).map((l) => l.name)).toEqual(['lo']);
    expect(() => teardownProjectNetwork(spec, hostNs)).not.toThrow();
  });

  it('repeats every driver operation without error or duplicates', async () => {
    const { spec, hostNs } = begin();
    const p = spec.project;
    const d = openNetworkDriver(hostNs);
    try {
      for (let round = 0; round < 2; round++) {
        d.createNetwork(p, 'front', spec.ipam.networks.front!);
        d.createNetns(p, 'worker');
        const attach = { project: p, service: 'worker', network: 'front', index: 0, address: '10.251.1.3/24' };
        d.attachVeth({ ...attach, defaultGateway: '10.251.1.1' });
      }
      const h = openHandle(hostNs);
      expect(addrList(h, bridgeName(p, 'front'), AF_INET).map((a) => a.cidr)).toEqual(['10.251.1.1/24']);
      h.close();
      const w = observeProjectNetwork(spec, hostNs).services.find((x) => x.service === 'worker')!;
      expect(w.veths[0]).toMatchObject({ present: true, peer: { name: 'eth0', addresses: ['10.251.1.3/24'] } });
      expect(w.defaultGateway).toBe('10.251.1.1');
      d.detachVeth(p, 'worker', 'front');
      d.detachVeth(p, 'worker', 'front');
      d.removeNetns(p, 'worker');
      d.removeNetns(p, 'worker');
      await d.removeNetwork(p, 'front');
      await d.removeNetwork(p, 'front');
      expect(linkList(s.handle(hostNs)).map((l) => l.name)).toEqual(['lo']);
    } finally {
      d.close();
    }
  });

  it('plugs a veth into a bridge made again since the driver looked it up (another owner\'s down and up): its kept index is looked up anew', async () => {
    const { spec, hostNs } = begin();
    const p = spec.project;
    const d = openNetworkDriver(hostNs);
    const other = openNetworkDriver(hostNs);
    try {
      d.createNetwork(p, 'front', spec.ipam.networks.front!);
      d.createNetns(p, 'web');
      d.createNetns(p, 'worker');
      d.attachVeth({ project: p, service: 'web', network: 'front', index: 0, address: '10.251.1.2/24' });
      const h = s.handle(hostNs);
      const bridgeOf = () => linkList(h).find((l) => l.name === bridgeName(p, 'front'))!;
      const first = bridgeOf().index;
      // Another driver (an external network's owner) removes the bridge and makes it again.
      other.detachVeth(p, 'web', 'front');
      await other.removeNetwork(p, 'front');
      other.createNetwork(p, 'front', spec.ipam.networks.front!);
      const again = bridgeOf().index;
      expect(again).not.toBe(first);
      d.attachVeth({ project: p, service: 'worker', network: 'front', index: 0, address: '10.251.1.3/24' });
      expect(linkList(h).find((l) => l.name === vethHostName(p, 'worker', 'front'))?.master).toBe(again);
    } finally {
      d.close();
      other.close();
    }
  });

  it('keeps the handle of each namespace it makes for its veth until the namespace or the driver goes; one made again elsewhere meanwhile is reached anew', () => {
    const { spec, hostNs } = begin();
    const p = spec.project;
    const fds = () => readdirSync('/proc/self/fd').length;
    const before = fds();
    const d = openNetworkDriver(hostNs);
    try {
      d.createNetwork(p, 'front', spec.ipam.networks.front!);
      d.createNetns(p, 'web');
      d.createNetns(p, 'worker');
      d.createNetns(p, 'db');
      expect(fds()).toBe(before + 4); // the host's socket and one a namespace
      d.removeNetns(p, 'db');
      expect(fds()).toBe(before + 3);
      // web's namespace deleted and made anew by someone else: the kept handle is of the old one.
      netnsDelete(netnsName(p, 'web'));
      netnsAdd(netnsName(p, 'web'));
      d.attachVeth({ project: p, service: 'web', network: 'front', index: 0, address: '10.251.1.2/24', defaultGateway: '10.251.1.1' });
      d.attachVeth({ project: p, service: 'worker', network: 'front', index: 0, address: '10.251.1.3/24' });
      const seen = observeProjectNetwork(spec, hostNs).services;
      const front = (service: string) => seen.find((x) => x.service === service)!.veths.find((v) => v.network === 'front');
      expect(front('web')).toMatchObject({ present: true, peer: { name: 'eth0', addresses: ['10.251.1.2/24'] } });
      expect(front('worker')).toMatchObject({ present: true, peer: { name: 'eth0', addresses: ['10.251.1.3/24'] } });
    } finally {
      d.close();
    }
    expect(fds()).toBe(before);
  });

  it('makes anew a namespace whose file is there with no namespace mounted on it (a crash halfway), its ping range open', () => {
    const { spec, hostNs } = begin();
    const p = spec.project;
    writeFileSync(netnsPath(netnsName(p, 'web')), ''); // the half-made file of an earlier attempt
    const d = openNetworkDriver(hostNs);
    try {
      d.createNetns(p, 'web');
      expect(linkList(s.handle(netnsName(p, 'web'))).find((l) => l.name === 'lo')?.up).toBe(true);
      const range = execFileSync('nsenter', [`--net=${netnsPath(netnsName(p, 'web'))}`, 'cat', '/proc/sys/net/ipv4/ping_group_range'], { encoding: 'utf8' });
      expect(range.trim().split(/\s+/)).toEqual(['0', '2147483647']);
    } finally {
      d.close();
    }
  });

  it('says which namespace is missing when a veth cannot be attached, and leaves no half pair', () => {
    const { spec, hostNs } = begin();
    const d = openNetworkDriver(hostNs);
    try {
      d.createNetwork(spec.project, 'front', spec.ipam.networks.front!);
      let err: unknown;
      try {
        d.attachVeth({ project: spec.project, service: 'web', network: 'front', index: 0, address: '10.251.1.2/24' });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(KernelError);
      expect((err as KernelError).message).toBe(`open /run/netns/${netnsName(spec.project, 'web')}: ENOENT`);
      const left = linkList(s.handle(hostNs)).map((l) => l.name).sort();
      expect(left).toEqual([bridgeName(spec.project, 'front'), 'lo'].sort());
    } finally {
      d.close();
    }
  });
});
