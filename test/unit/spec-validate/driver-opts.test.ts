// driver_opts as the loader reads them. Of a network: its MTU, host_binding_ipv4 only as 127.0.0.1,
// every other bridge option refused by name. Of a named volume: a tmpfs of its own, a host folder bound
// (relative to the project folder, `~` at home), and every other use refused at its key: another
// type (nfs, ext4), an option of another driver, a bind without its folder or with a type, an
// external volume given options. The mounts themselves: test/integration/up-down/volume-mounts.test.ts.
import { describe, expect, test } from 'vitest';
import { normalize } from '../../../src/spec/normalize.js';
import { validate } from '../../../src/spec/validate.js';
import { rawSpec } from './raw-spec.js';
import { hashNetwork } from '../../../src/planner/hash.js';

/** A spec of service `web` and `top` (its top-level keys), validated and normalized: the project, its errors as `CODE path`, every diagnostic. */
function loadDoc(service: string, top: string) {
  const raw = rawSpec(`services:\n  web:\n    command: sleep 1\n    ${service}\n${top}`, { env: { HOME: '/home/u' }, workingDir: '/proj' });
  const structural = validate(raw).filter((d) => d.severity === 'error');
  const { project, diagnostics } = normalize(raw, { profiles: [] });
  const errors = [...structural, ...diagnostics.filter((d) => d.severity === 'error')].map((d) => `${d.code} ${(d.path ?? []).join('.')}`);
  return { project, errors, diagnostics: [...structural, ...diagnostics] };
}

/** Volume `v` (its keys given, unindented), mounted by `web`. */
function load(volume: string) {
  const { project, ...rest } = loadDoc('volumes: [v:/v]', `volumes:\n  v:\n${volume.replace(/^/gm, '    ')}\n`);
  return { volume: project.volumes.v!, ...rest };
}

describe('volume driver_opts', () => {
  test('a tmpfs: its options as written, mount flags and its own alike; the device its source name', () => {
    const { volume, errors } = load('driver_opts:\n  type: tmpfs\n  device: tmpfs\n  o: "size=64m, uid=1000,noexec"');
    expect(errors).toEqual([]);
    expect(volume.mount).toEqual({ kind: 'tmpfs', device: 'tmpfs', options: ['size=64m', 'uid=1000', 'noexec'] });
    expect(volume.driverOpts).toEqual({ type: 'tmpfs', device: 'tmpfs', o: 'size=64m, uid=1000,noexec' });
    expect(load('driver_opts: {type: tmpfs}').volume.mount).toEqual({ kind: 'tmpfs', device: 'tmpfs', options: [] });
  });

  test('a bind: type none (or none given), o bind or rbind with flags, the device resolved against the project folder', () => {
    expect(load('driver_opts: {type: none, o: bind, device: ./data}').volume.mount).toEqual({ kind: 'bind', device: '/proj/data', options: ['bind'] });
    expect(load('driver_opts: {o: "rbind,ro", device: /srv/x}').volume.mount).toEqual({ kind: 'bind', device: '/srv/x', options: ['rbind', 'ro'] });
    expect(load('driver_opts: {type: none, o: bind, device: ~/d}').volume.mount?.device).toBe('/home/u/d');
  });

  test('no driver_opts, or an empty mapping: a plain folder', () => {
    expect(load('name: x').volume.mount).toBeUndefined();
    expect(load('driver_opts: {}').volume).not.toHaveProperty('mount');
  });

  test('what stack does not mount is refused at its key, with the way around it', () => {
    const nfs = load('driver_opts: {type: nfs, o: "addr=10.0.0.1,rw", device: ":/export"}');
    expect(nfs.errors).toEqual(['UNSUPPORTED volumes.v.driver_opts.type']);
    expect(nfs.diagnostics[0]?.hint).toMatch(/mount the nfs file system on the host.*type: none, o: bind/);
    expect(nfs.volume.mount).toBeUndefined();
    expect(load('driver_opts: {type: none, device: /srv/x}').errors).toEqual(['MISSING_KEY volumes.v.driver_opts.o']);
    expect(load('driver_opts: {type: tmpfs, size: 3}').errors).toEqual(['UNSUPPORTED volumes.v.driver_opts.size']);
    expect(load('driver_opts: {device: /dev/sdb1}').errors).toEqual(['MISSING_KEY volumes.v.driver_opts']);
    expect(load('driver_opts: {type: none, o: bind}').errors).toEqual(['MISSING_KEY volumes.v.driver_opts']);
    expect(load('driver_opts: {type: ext4, o: bind, device: /x}').errors).toEqual(['CONFLICT volumes.v.driver_opts.type']);
    expect(load('driver_opts: {type: none, o: "bind,size=1m", device: /x}').errors).toEqual(['BAD_VALUE volumes.v.driver_opts.o']);
    expect(load('external: true\ndriver_opts: {type: tmpfs}').errors).toEqual(['CONFLICT volumes.v.driver_opts']);
    expect(load('driver_opts: [type=tmpfs]').errors).toEqual(['BAD_TYPE volumes.v.driver_opts']);
  });

  test('an error names its line and column in the file', () => {
    const d = load('driver_opts:\n  type: nfs').diagnostics.find((x) => x.severity === 'error');
    expect(d?.location).toMatchObject({ line: 8 });
    expect(d?.location?.col).toBe(7);
  });
});

/** Network `n` (its keys given, unindented), joined by `web`. */
function loadNetwork(network: string) {
  const { project, ...rest } = loadDoc('networks: [n]', `networks:\n  n:\n${network.replace(/^/gm, '    ')}\n`);
  return { network: project.networks.n!, ...rest };
}

describe('network driver_opts', () => {
  test('the MTU of the bridge and its veths; host_binding_ipv4 as stack publishes anyway; nothing else', () => {
    expect(loadNetwork('driver_opts: {com.docker.network.driver.mtu: 1400}').network).toMatchObject({ mtu: 1400, driverOpts: { 'com.docker.network.driver.mtu': '1400' } });
    expect(loadNetwork('driver_opts: {com.docker.network.driver.mtu: "9000"}').network.mtu).toBe(9000);
    const bound = loadNetwork('driver_opts: {com.docker.network.bridge.host_binding_ipv4: 127.0.0.1}');
    expect(bound.errors).toEqual([]);
    expect(bound.network).not.toHaveProperty('mtu');
    expect(loadNetwork('driver_opts: {com.docker.network.driver.mtu: 40}').errors).toEqual(['BAD_VALUE networks.n.driver_opts.com.docker.network.driver.mtu']);
    expect(loadNetwork('driver_opts: {com.docker.network.driver.mtu: big}').errors).toEqual(['BAD_VALUE networks.n.driver_opts.com.docker.network.driver.mtu']);
    const all = loadNetwork('driver_opts: {com.docker.network.bridge.host_binding_ipv4: 0.0.0.0}');
    expect(all.errors).toEqual(['UNSUPPORTED networks.n.driver_opts.com.docker.network.bridge.host_binding_ipv4']);
    expect(all.diagnostics[0]?.hint).toContain('ports: ["0.0.0.0:8080:80"]');
    const named = loadNetwork('driver_opts: {com.docker.network.bridge.name: br-app, foo: bar}');
    expect(named.errors).toEqual(['UNSUPPORTED networks.n.driver_opts.com.docker.network.bridge.name', 'UNSUPPORTED networks.n.driver_opts.foo']);
    expect(named.diagnostics[0]?.hint).toMatch(/stkb/);
    expect(loadNetwork('external: true\nname: other\ndriver_opts: {com.docker.network.driver.mtu: 1400}').errors).toEqual(['CONFLICT networks.n.driver_opts']);
  });

  test('the MTU is part of the network\'s stamp (a change recreates it); the options as written are not', () => {
    const plain = loadNetwork('internal: false').network;
    const small = loadNetwork('driver_opts: {com.docker.network.driver.mtu: 1400}').network;
    const same = loadNetwork('driver_opts: {com.docker.network.bridge.host_binding_ipv4: 127.0.0.1}').network;
    expect(hashNetwork(small).hash).not.toBe(hashNetwork(plain).hash);
    expect(hashNetwork(same).hash).toBe(hashNetwork(plain).hash);
  });
});
