// A throwaway network lab for the root tests: network namespaces (one plays the host, one the
// outside world, one per service), bridges and veths made with `ip` (test fixture only: the
// project's own netlink verbs are tested elsewhere), and node programs run inside them. Every
// namespace and process it makes is recorded and removed by cleanup(), even after a failure.
// A new netns copies some sysctls from the real host (net.ipv4.ip_forward among them), so every
// namespace starts from the values set here, never from whatever the machine running the tests
// has: the suite behaves the same on a fresh host, on this one after a `stack up`, and beside Docker.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const PROGRAMS = join(import.meta.dirname, 'programs');

/** The host's end of the uplink made by Lab.uplink. */
export const UPLINK = '198.51.100.1';
/** The outside world's end of that uplink. */
export const OUTSIDE = '198.51.100.2';
/** The cloud metadata address, held by the lab's outside namespace (never the real one). */
export const METADATA = '169.254.169.254';

/** One lab: unique names, and the list of what to remove. */
export class Lab {
  readonly id = randomBytes(3).toString('hex');
  private readonly namespaces: string[] = [];
  private readonly processes: ChildProcess[] = [];

  /**
   * Creates netns `stk-t<id>-<role>` with lo up and forwarding off (a fresh kernel's value,
   * whatever the real host has); `sysctls` (name → value) are set next. Returns its name.
   */
  async netns(role: string, sysctls: Readonly<Record<string, string>> = {}): Promise<string> {
    const name = `stk-t${this.id}-${role}`;
    await this.ip('netns', 'add', name);
    this.namespaces.push(name);
    await this.ip('-n', name, 'link', 'set', 'lo', 'up');
    await this.sysctl(name, { 'net.ipv4.ip_forward': '0', ...sysctls });
    return name;
  }

  /** Sets net sysctls inside a lab netns (never the real host's), and checks they took. */
  async sysctl(ns: string, values: Readonly<Record<string, string>>): Promise<void> {
    for (const [key, value] of Object.entries(values)) {
      await this.in(ns, 'sysctl', '-qw', `${key}=${value}`);
      const now = (await this.in(ns, 'sysctl', '-n', key)).trim();
      if (now !== value) throw new Error(`lab ${this.id}: ${key} is ${now} in ${ns} after setting it to ${value}`);
    }
  }

  /** Path of a lab netns, as the firewall's NetTarget wants it. */
  path(ns: string): string {
    return `/run/netns/${ns}`;
  }

  /** Runs a command in the test's own netns. */
  async run(file: string, ...args: string[]): Promise<string> {
    return (await exec(file, args)).stdout;
  }

  /** Runs `ip ...`. */
  async ip(...args: string[]): Promise<string> {
    return (await exec('ip', args)).stdout;
  }

  /** Runs a command inside a netns and returns its stdout. */
  async in(ns: string, ...command: string[]): Promise<string> {
    return (await exec('ip', ['netns', 'exec', ns, ...command], { maxBuffer: 1 << 24 })).stdout;
  }

  /** Runs programs/<name> inside a netns to completion and parses the JSON line it prints. */
  async program<T>(ns: string, name: string, ...args: string[]): Promise<T> {
    return JSON.parse(await this.in(ns, process.execPath, join(PROGRAMS, name), ...args)) as T;
  }

  /** Starts a long-running program inside a netns; resolves with its first stdout line once it says `ready`. */
  async daemon(ns: string, file: string, ...args: string[]): Promise<string> {
    const child = spawn(
      'ip',
      ['netns', 'exec', ns, process.execPath, file.includes('/') ? file : join(PROGRAMS, file), ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.processes.push(child);
    let errors = '';
    child.stderr!.on('data', (d) => (errors += d));
    return new Promise((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        const line = out.split('\n').find((l) => l.startsWith('ready'));
        if (line !== undefined) resolve(line);
      });
      child.once('exit', (code) => reject(new Error(`${file} exited ${code} before it was ready: ${errors}`)));
    });
  }

  /**
   * The host's uplink to the outside world: veth uplink0 (UPLINK/24) in `host` and eth0 (OUTSIDE/24,
   * and METADATA/32) in `outside`, the host's default route via OUTSIDE. The outside has no route back.
   */
  async uplink(host: string, outside: string): Promise<void> {
    await this.ip('-n', host, 'link', 'add', 'uplink0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', outside);
    await this.ip('-n', host, 'addr', 'add', `${UPLINK}/24`, 'dev', 'uplink0');
    await this.ip('-n', host, 'link', 'set', 'uplink0', 'up');
    await this.ip('-n', outside, 'addr', 'add', `${OUTSIDE}/24`, 'dev', 'eth0');
    await this.ip('-n', outside, 'addr', 'add', `${METADATA}/32`, 'dev', 'eth0');
    await this.ip('-n', outside, 'link', 'set', 'eth0', 'up');
    await this.ip('-n', host, 'route', 'add', 'default', 'via', OUTSIDE);
  }

  /** Bridge `bridge` with `gateway/24` in netns `host`. */
  async bridge(host: string, bridge: string, gatewayCidr: string): Promise<void> {
    await this.ip('-n', host, 'link', 'add', bridge, 'type', 'bridge');
    await this.ip('-n', host, 'addr', 'add', gatewayCidr, 'dev', bridge);
    await this.ip('-n', host, 'link', 'set', bridge, 'up');
  }

  /** A service netns on a bridge: veth `hostSide` in the bridge, eth0 with `cidr`, default route via `gateway`. */
  async attach(
    host: string,
    bridge: string,
    hostSide: string,
    service: string,
    cidr: string,
    gateway: string,
  ): Promise<void> {
    await this.ip('-n', host, 'link', 'add', hostSide, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', service);
    await this.ip('-n', host, 'link', 'set', hostSide, 'master', bridge, 'up');
    await this.ip('-n', service, 'addr', 'add', cidr, 'dev', 'eth0');
    await this.ip('-n', service, 'link', 'set', 'eth0', 'up');
    await this.ip('-n', service, 'route', 'add', 'default', 'via', gateway);
  }

  /** Ends every process (by its pid) and deletes every netns of the lab; collects, never stops early. */
  async cleanup(): Promise<void> {
    const failures: string[] = [];
    for (const child of this.processes.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
    }
    for (const ns of this.namespaces.splice(0).reverse()) {
      // A netns running nothing any more is freed with its links when its name goes.
      await this.ip('netns', 'del', ns).catch((e: Error) => failures.push(`${ns}: ${e.message}`));
    }
    if (failures.length) throw new Error(`lab ${this.id} cleanup: ${failures.join('; ')}`);
  }
}
