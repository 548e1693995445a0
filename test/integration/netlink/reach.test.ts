// The verbs together: a "host" namespace with a bridge, two service namespaces joined to it by
// veth pairs made from the host side, addresses and a default route; then real TCP between
// them (loopback and test-made namespaces only).
import { afterEach, expect, it } from 'vitest';
import { describeWith } from '../../harness/require.js';
import { KernelError } from '../../../src/errors.js';
import {
  addrAdd, addrList, linkAddBridge, linkAddVeth, linkGet, linkSetUp, netnsList, routeAddDefault, routeList,
  type Handle,
} from '../../../src/network/index.js';
import { AF_INET } from '../../../src/network/nl/index.js';
import { echoServer, ready, Scratch, tcpProbe } from './fixture.js';

describeWith({ root: true, commands: ['nsenter'] }, 'addresses, routes and reachability', () => {
  const s = new Scratch();
  afterEach(() => s.cleanup());

  function service(host: Handle, tag: string, cidr: string): { ns: string; h: Handle } {
    const ns = s.netns(tag);
    linkAddVeth(host, `v${tag}`, { name: 'eth0', netns: ns }, { up: true, master: 'br0' });
    const h = s.handle(ns);
    linkSetUp(h, 'lo');
    linkSetUp(h, 'eth0');
    addrAdd(h, 'eth0', cidr);
    return { ns, h };
  }

  it('bridges two namespaces and routes through the gateway', async () => {
    const hostNs = s.netns('gw');
    const host = s.handle(hostNs);
    linkAddBridge(host, 'br0', { up: true });
    addrAdd(host, 'br0', '10.250.1.1/24');
    addrAdd(host, 'br0', '10.250.2.1/24');
    const a = service(host, 'a', '10.250.1.2/24');
    const b = service(host, 'b', '10.250.1.3/24');
    routeAddDefault(a.h, '10.250.1.1');

    const eth0 = addrList(a.h, 'eth0', AF_INET).map((x) => [x.cidr, x.broadcast]);
    expect(eth0).toEqual([['10.250.1.2/24', '10.250.1.255']]);
    expect(addrList(host, 'br0', AF_INET).map((x) => x.cidr).sort()).toEqual(['10.250.1.1/24', '10.250.2.1/24']);
    const routes = routeList(a.h);
    expect(routes.find((r) => r.dst === 'default')).toMatchObject({ gateway: '10.250.1.1' });
    expect(routes.find((r) => r.dst === '10.250.1.0/24')).toBeDefined();
    expect(routeList(b.h).find((r) => r.dst === 'default')).toBeUndefined();

    // b reaches a across the bridge; a reaches the gateway's other subnet by its default route.
    const server = s.node(a.ns, echoServer('10.250.1.2', 7001));
    await ready(server);
    expect(tcpProbe(b.ns, '10.250.1.2', 7001)).toBe('hello-7001');
    const gwServer = s.node(hostNs, echoServer('10.250.2.1', 7002));
    await ready(gwServer);
    expect(tcpProbe(a.ns, '10.250.2.1', 7002)).toBe('hello-7002');
    // b has no default route: the same address is unreachable from it.
    expect(tcpProbe(b.ns, '10.250.2.1', 7002)).toBe('ENETUNREACH');
  });

  it('names the address and namespace when an address is added twice', () => {
    const ns = s.netns('dupaddr');
    const h = s.handle(ns);
    addrAdd(h, 'lo', '10.250.9.1/24');
    let err: unknown;
    try {
      addrAdd(h, 'lo', '10.250.9.1/24');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KernelError);
    expect((err as KernelError).message).toBe(`RTM_NEWADDR 10.250.9.1/24 dev lo in ${ns}: EEXIST`);
    let noDev: unknown;
    try {
      routeAddDefault(h, '10.250.9.254', 'eth7');
    } catch (e) {
      noDev = e;
    }
    expect((noDev as KernelError).message).toBe(`RTM_NEWROUTE default via 10.250.9.254 dev eth7 in ${ns}: ENODEV`);
  });

  it('leaves nothing behind after cleanup', async () => {
    const ns = s.netns('gone');
    const host = s.handle();
    const v = s.hostLink('g');
    linkAddVeth(host, v, { name: 'eth0', netns: ns });
    await s.cleanup();
    expect(netnsList()).not.toContain(ns);
    expect(linkGet(s.handle(), v)).toBeUndefined();
  });
});
