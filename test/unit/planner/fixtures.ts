// Hand-built, fully defaulted Projects for planner tests (no spec loader involved), and a small
// in-memory simulator that applies a plan to a LiveState the way the executor would.
import type { Dependency, Network, Project, Service, Volume } from '../../../src/spec/project.js';
import type { LiveService, LiveState } from '../../../src/state/live.js';
import type { Operation, Plan } from '../../../src/planner/plan.js';
import { testService } from '../../fixtures/launch/service.js';
import { ownsNetns } from '../../../src/spec/namespace-modes.js';

/** A service with compose's defaults, running `sleep 3600` on the default network. */
export function service(name: string, over: Partial<Service> = {}): Service {
  return testService({
    name,
    hostname: name,
    command: ['sleep', '3600'],
    networks: { default: { aliases: [], priority: 0 } },
    ...over,
  });
}

/** `depends_on: [a, b]` in its long form. */
export function needs(...names: string[]): Record<string, Dependency> {
  return Object.fromEntries(names.map((n) => [n, { condition: 'service_started', required: true, restart: false }]));
}

/** A service's `networks:` map for these keys, in the given order of priority (first highest). */
export function on(...keys: string[]): Service['networks'] {
  return Object.fromEntries(keys.map((k, i) => [k, { aliases: [], priority: keys.length - i }]));
}

/** A bridge network with defaults. */
export function network(key: string, over: Partial<Network> = {}): Network {
  return { key, name: `p_${key}`, driver: 'bridge', internal: false, external: false, ipam: [], labels: {}, ...over };
}

/** A named volume with defaults. */
export function volume(key: string, over: Partial<Volume> = {}): Volume {
  return { key, name: `p_${key}`, external: false, labels: {}, ...over };
}

/** Project `p` of these services; networks the services use are added with defaults. */
export function project(services: Service[], extra: { networks?: Network[]; volumes?: Volume[] } = {}): Project {
  const networks: Record<string, Network> = {};
  for (const s of services) for (const key of Object.keys(s.networks)) networks[key] = network(key);
  for (const n of extra.networks ?? []) networks[n.key] = n;
  return {
    name: 'p',
    workingDir: '/srv/p',
    files: ['/srv/p/stack.yaml'],
    services: Object.fromEntries(services.map((s) => [s.name, s])),
    networks,
    volumes: Object.fromEntries((extra.volumes ?? []).map((v) => [v.key, v])),
  };
}

/** T with every readonly removed, at every depth (tests mutate copies to make drift). */
export type Mutable<T> = T extends readonly (infer U)[]
  ? Mutable<U>[]
  : T extends object
    ? { -readonly [K in keyof T]: Mutable<T[K]> }
    : T;

/** A deep, writable copy of a LiveState. */
export function copy(live: LiveState): Mutable<LiveState> {
  return structuredClone(live) as Mutable<LiveState>;
}

/**
 * Applies a plan to a LiveState as the executor would, in plan order, checking each operation's
 * preconditions (its dependencies were done, what it needs exists). Throws on a broken plan.
 */
export function simulate(project: Project, live: LiveState, plan: Plan): LiveState {
  const state = copy(live);
  const done = new Set<string>();
  let pid = 1000;
  const stops = new Set(plan.operations.flatMap((op) => (op.kind === 'stop-service' ? [op.service] : [])));
  const record = (name: string): Mutable<LiveService> => {
    const existing = state.services[name];
    if (existing) return existing;
    const fresh: Mutable<LiveService> = { name, config: null, netns: null, veths: {}, cgroups: [], process: null, dependsOn: [] };
    state.services[name] = fresh;
    return fresh;
  };
  const fail = (op: Operation, why: string): never => {
    throw new Error(`${op.id}: ${why}`);
  };
  for (const op of plan.operations) {
    for (const dep of op.dependsOn) if (!done.has(dep)) fail(op, `runs before its dependency ${dep}`);
    switch (op.kind) {
      case 'create-network':
        if (state.networks[op.network]?.bridge.present) fail(op, 'bridge exists');
        state.networks[op.network] = { key: op.network, config: op.stamp, bridge: { name: `stkb-${op.network}`, present: true } };
        break;
      case 'remove-network':
        for (const s of Object.values(state.services))
          if (s.veths[op.network]?.host.present) fail(op, `veth of ${s.name} still attached`);
        delete state.networks[op.network];
        break;
      case 'create-volume': {
        const m = project.volumes[op.volume]?.mount;
        state.volumes[op.volume] = {
          key: op.volume,
          name: `p_${op.volume}`,
          path: `/lib/${op.volume}`,
          present: true,
          ...(m && { mount: { kind: m.kind, device: m.device, options: [...m.options], mounted: true } }),
        };
        break;
      }
      case 'remove-volume':
        for (const s of Object.values(state.services)) if (s.process?.alive) fail(op, `${s.name} still running`);
        delete state.volumes[op.volume];
        break;
      case 'unmount-volume': {
        for (const s of Object.values(state.services)) if (s.process?.alive) fail(op, `${s.name} still running`);
        const m = state.volumes[op.volume]?.mount;
        if (!m?.mounted) fail(op, 'not mounted');
        m!.mounted = false;
        break;
      }
      case 'create-netns': {
        const s = record(op.service);
        if (s.netns?.present) fail(op, 'netns exists');
        s.netns = { name: `stk-p-${op.service}`, present: true };
        break;
      }
      case 'remove-netns': {
        const s = record(op.service);
        if (s.process?.alive) fail(op, 'process still running in it');
        for (const v of Object.values(s.veths)) v.host.present = false;
        s.netns = null;
        break;
      }
      case 'attach-veth': {
        const s = record(op.service);
        if (!s.netns?.present) fail(op, 'no netns');
        const net = project.networks[op.network];
        if (!net?.external && !state.networks[op.network]?.bridge.present) fail(op, 'no bridge');
        for (const [key, v] of Object.entries(s.veths))
          if (key !== op.network && v.host.present && v.peer === `eth${op.index}`) fail(op, `eth${op.index} taken`);
        if (s.veths[op.network]?.host.present) fail(op, 'veth exists');
        s.veths[op.network] = { network: op.network, host: { name: `stkv-${op.service}-${op.network}`, present: true }, peer: `eth${op.index}`, attachHash: op.attachHash };
        break;
      }
      case 'detach-veth':
        delete record(op.service).veths[op.network];
        break;
      case 'start-service': {
        const s = record(op.service);
        const spec = project.services[op.service];
        if (!spec) return fail(op, 'not in the project');
        if (s.process?.alive) fail(op, 'already running');
        // network_mode (host, service:): the netns is the host's or the owner's, not its own.
        if (ownsNetns(spec) && !s.netns?.present) fail(op, 'no netns');
        for (const key of Object.keys(spec.networks))
          if (!s.veths[key]?.host.present) fail(op, `no veth on ${key}`);
        for (const dep of Object.keys(spec.dependsOn))
          if (!state.services[dep]?.process?.alive) fail(op, `dependency ${dep} not running`);
        for (const m of spec.volumes) {
          if (m.type === 'volume' && m.source && !state.volumes[m.source]?.present) fail(op, `no volume ${m.source}`);
          if (m.type === 'volume' && m.source && project.volumes[m.source]?.mount && !state.volumes[m.source]?.mount?.mounted) fail(op, `volume ${m.source} not mounted`);
        }
        s.config = op.stamp;
        s.process = { pid: pid++, startTime: 1, alive: true };
        s.cgroups = [{ name: `/sys/fs/cgroup/pids/stack/p/${op.service}`, present: true }];
        s.dependsOn = Object.keys(spec.dependsOn);
        break;
      }
      case 'stop-service': {
        const s = record(op.service);
        // Reverse order: a dependent that this plan stops too must be stopped first.
        for (const other of Object.values(state.services))
          if (other.process?.alive && other.dependsOn.includes(op.service) && stops.has(other.name))
            fail(op, `${other.name} depends on it and still runs`);
        if (s.process) s.process.alive = false;
        break;
      }
      case 'remove-service': {
        const s = record(op.service);
        if (s.process?.alive) fail(op, 'still running');
        if (project.services[op.service]) {
          s.process = null;
          s.cgroups = [];
          s.config = null;
        } else {
          if (s.netns?.present) fail(op, 'netns left behind');
          if (Object.values(s.veths).some((v) => v.host.present)) fail(op, 'veth left behind');
          delete state.services[op.service];
        }
        break;
      }
    }
    done.add(op.id);
  }
  return state;
}
