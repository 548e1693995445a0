// Part 1: time to create and then delete N service network units (netns + bridge + veth pair
// with the peer in the netns + address + links up) through our netlink verbs, against the same
// objects made with `ip` commands, in one run.
// Part 2: the network of a project of N services on one network (bridge + gateway address; per
// service: netns, lo up, veth with eth0 inside, address, default route) through
// setupProjectNetwork/teardownProjectNetwork, against `ip` commands.
// Everything happens inside a throwaway "host" netns made for the run, deleted at the end with
// every namespace of the run (also on failure). Needs root and `npm run build` (imports dist/).
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  addrAdd, linkAddBridge, linkAddVeth, linkDel, linkSetUp, netnsAdd, netnsDelete, netnsList, openHandle,
  openNetworkDriver, setupProjectNetwork, teardownProjectNetwork,
} from '../dist/network/index.js';
import { ms } from './_stats.mjs';
import { emitRow } from './_row.mjs';

const SIZES = [1, 10, 50];
const run = `stk-bnl${randomBytes(3).toString('hex')}`;
const rootNs = `${run}-host`;

if (process.getuid?.() !== 0) {
  console.log('netlink bench: needs root (skipped)');
  process.exit(0);
}

function unitNames(tag, i) {
  return { ns: `${run}-${tag}${i}`, br: `br${i}`, veth: `v${i}`, cidr: `10.${200 + (i >> 8)}.${i & 255}.2/24` };
}

/** Our netlink: one handle in the host netns, one per unit netns. */
function createOurs(n) {
  const host = openHandle(rootNs);
  try {
    for (let i = 0; i < n; i++) {
      const u = unitNames('o', i);
      netnsAdd(u.ns);
      linkAddBridge(host, u.br, { up: true });
      linkAddVeth(host, u.veth, { name: 'eth0', netns: u.ns }, { up: true, master: u.br });
      const h = openHandle(u.ns);
      try {
        linkSetUp(h, 'lo');
        addrAdd(h, 'eth0', u.cidr);
        linkSetUp(h, 'eth0');
      } finally {
        h.close();
      }
    }
  } finally {
    host.close();
  }
}

function deleteOurs(n) {
  const host = openHandle(rootNs);
  try {
    for (let i = 0; i < n; i++) {
      const u = unitNames('o', i);
      linkDel(host, u.veth);
      linkDel(host, u.br);
      netnsDelete(u.ns);
    }
  } finally {
    host.close();
  }
}

function ip(...args) {
  const r = spawnSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

/** The same objects, one `ip` command each, as a shell script or a CNI plugin would make them. */
function createIp(n) {
  for (let i = 0; i < n; i++) {
    const u = unitNames('i', i);
    ip('netns', 'add', u.ns);
    ip('-n', rootNs, 'link', 'add', u.br, 'up', 'type', 'bridge');
    ip('-n', rootNs, 'link', 'add', u.veth, 'master', u.br, 'up', 'type', 'veth', 'peer', 'eth0', 'netns', u.ns);
    ip('-n', u.ns, 'link', 'set', 'lo', 'up');
    ip('-n', u.ns, 'addr', 'add', u.cidr, 'dev', 'eth0');
    ip('-n', u.ns, 'link', 'set', 'eth0', 'up');
  }
}

function deleteIp(n) {
  for (let i = 0; i < n; i++) {
    const u = unitNames('i', i);
    ip('-n', rootNs, 'link', 'del', u.veth);
    ip('-n', rootNs, 'link', 'del', u.br);
    ip('netns', 'del', u.ns);
  }
}

const projectName = `${run.slice(4)}p`; // netns stk-<project>-sN share the run's prefix

function projectSpec(n) {
  const services = {};
  const addresses = {};
  for (let i = 0; i < n; i++) {
    services[`s${i}`] = { networks: { default: { priority: 0 } } };
    addresses[`s${i}`] = `10.210.${(i + 2) >> 8}.${(i + 2) & 255}`;
  }
  return {
    project: projectName,
    networks: { default: { internal: false, external: false } },
    services,
    ipam: { version: 1, networks: { default: { subnet: '10.210.0.0/16', gateway: '10.210.0.1', addresses } } },
  };
}

const setupOurs = (n) => setupProjectNetwork(projectSpec(n), openNetworkDriver(rootNs));
const teardownOurs = (n) => teardownProjectNetwork(projectSpec(n), rootNs);

/** The same project network, one `ip` command per object and setting. */
function setupIp(n) {
  const spec = projectSpec(n);
  ip('-n', rootNs, 'link', 'add', 'pbr', 'up', 'type', 'bridge');
  ip('-n', rootNs, 'addr', 'add', '10.210.0.1/16', 'dev', 'pbr');
  for (let i = 0; i < n; i++) {
    const ns = `${run}-ip-s${i}`;
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', rootNs, 'link', 'add', `pv${i}`, 'master', 'pbr', 'up', 'type', 'veth', 'peer', 'eth0', 'netns', ns);
    ip('-n', ns, 'addr', 'add', `${spec.ipam.networks.default.addresses[`s${i}`]}/16`, 'dev', 'eth0');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
    ip('-n', ns, 'route', 'add', 'default', 'via', '10.210.0.1');
  }
}

function teardownIp(n) {
  for (let i = 0; i < n; i++) ip('-n', rootNs, 'link', 'del', `pv${i}`);
  ip('-n', rootNs, 'link', 'del', 'pbr');
  for (let i = 0; i < n; i++) ip('netns', 'del', `${run}-ip-s${i}`);
}

function timed(fn, n) {
  const t0 = performance.now();
  fn(n);
  return performance.now() - t0;
}

function cleanup() {
  for (const ns of netnsList()) if (ns.startsWith(run)) netnsDelete(ns);
}

try {
  execFileSync('ip', ['-V'], { stdio: 'ignore' });
  netnsAdd(rootNs);
  // Warm up both paths (koffi load, page cache of the ip binary).
  createOurs(1), deleteOurs(1), createIp(1), deleteIp(1);
  console.log('N   | create: ours       ip        ratio | delete: ours       ip        ratio');
  for (const n of SIZES) {
    const oc = timed(createOurs, n);
    const od = timed(deleteOurs, n);
    const ic = timed(createIp, n);
    const id = timed(deleteIp, n);
    emitRow('netlink', `units create ${n}`, oc, ic, null, 'ip commands');
    emitRow('netlink', `units delete ${n}`, od, id, null, 'ip commands');
    console.log(
      `${String(n).padEnd(3)} | ${ms(oc).padStart(12)} ${ms(ic).padStart(11)} ${(ic / oc).toFixed(1).padStart(6)}x` +
        ` | ${ms(od).padStart(12)} ${ms(id).padStart(11)} ${(id / od).toFixed(1).padStart(6)}x`,
    );
  }
  console.log('(ratio = ip time / our time; unit = netns + bridge + veth pair, peer in the netns + address + up)');
  setupOurs(1), teardownOurs(1), setupIp(1), teardownIp(1);
  console.log('\nproject of N services on one network (setupProjectNetwork / teardownProjectNetwork vs ip):');
  console.log('N   | setup:  ours       ip        ratio | teardown: ours     ip        ratio');
  for (const n of SIZES) {
    const os = timed(setupOurs, n);
    const ot = timed(teardownOurs, n);
    const is = timed(setupIp, n);
    const it = timed(teardownIp, n);
    emitRow('netlink', `project setup ${n}`, os, is, null, 'ip commands');
    emitRow('netlink', `project teardown ${n}`, ot, it, null, 'ip commands');
    console.log(
      `${String(n).padEnd(3)} | ${ms(os).padStart(12)} ${ms(is).padStart(11)} ${(is / os).toFixed(1).padStart(6)}x` +
        ` | ${ms(ot).padStart(12)} ${ms(it).padStart(11)} ${(it / ot).toFixed(1).padStart(6)}x`,
    );
  }
  console.log('(our teardown deletes all the project\'s links in one request: one RCU grace period, not one per link)');
} finally {
  cleanup();
}
