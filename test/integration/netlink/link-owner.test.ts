// Link names are 8 hex of a hash (15 bytes is the kernel's limit), so two owners may, however
// rarely, share one: the driver then refuses, naming the other owner, and never adopts or
// deletes a link whose alias names someone else. Inside a throwaway netns that plays the host.
import { afterEach, expect, it } from 'vitest';
import { describeWith } from '../../harness/require.js';
import { UserError } from '../../../src/errors.js';
import { bridgeName, netnsName, vethHostName } from '../../../src/names.js';
import { linkAddBridge, linkList, openNetworkDriver } from '../../../src/network/index.js';
import { Scratch, uniq } from './fixture.js';

describeWith({ root: true, commands: ['nsenter'] }, 'a link name another owner holds', () => {
  const s = new Scratch();
  afterEach(() => s.cleanup());

  function caught(fn: () => void): unknown {
    try {
      fn();
    } catch (e) {
      return e;
    }
    return undefined;
  }

  it('is neither adopted as a bridge nor deleted as a leftover veth; the error names its owner', () => {
    const hostNs = s.netns('host');
    const p = `t${uniq()}`;
    s.adopt(netnsName(p, 'web'));
    const bridge = bridgeName(p, 'front');
    const veth = vethHostName(p, 'web', 'front');
    const h = s.handle(hostNs);
    // Stand-ins for the colliding links of another project (their names forced, their aliases theirs).
    linkAddBridge(h, bridge, { alias: 'stack:other/front' });
    linkAddBridge(h, veth, { alias: 'stack:other/front/api' });
    const d = openNetworkDriver(hostNs);
    try {
      const made = caught(() => d.createNetwork(p, 'front', { subnet: '10.251.9.0/24', gateway: '10.251.9.1', addresses: { web: '10.251.9.2' } }));
      expect(made).toBeInstanceOf(UserError);
      expect(made).toMatchObject({ code: 'LINK_NAME_TAKEN', message: `link ${bridge} (${p}/front) exists already, made by "stack:other/front"` });

      d.createNetns(p, 'web');
      const attached = caught(() => d.attachVeth({ project: p, service: 'web', network: 'front', index: 0, address: '10.251.9.2/24' }));
      expect(attached).toMatchObject({ code: 'LINK_NAME_TAKEN' });
      expect((attached as Error).message).toContain('made by "stack:other/front/api"');

      const links = new Map(linkList(h).map((l) => [l.name, l]));
      expect(links.get(bridge)?.alias).toBe('stack:other/front');
      expect(links.get(veth)?.alias).toBe('stack:other/front/api');
      d.removeNetns(p, 'web');
    } finally {
      d.close();
    }
  });
});
