// The DNS listeners the supervisor keeps on the project's bridge gateways, one forwarder per
// network so a network whose bridge is not up yet (EADDRNOTAVAIL) does not hold back the
// others: it is retried. Names follow the records: setNames() when addresses change.
import { readFileSync } from 'node:fs';
import { parseResolvConf, startDnsForwarder, type DnsForwarder, type DnsListener, type Upstream } from '../network/dns/index.js';
import { closeSockets, type DnsSockets } from './handed.js';

/** Retry delay for a listener that could not bind. */
const RETRY_MS = 2000;

/** The host's resolvers, where the forwarder relays what it does not answer. */
export function hostUpstreams(resolvConf = '/etc/resolv.conf'): Upstream[] {
  let text = '';
  try {
    text = readFileSync(resolvConf, 'utf8');
  } catch {
    // no resolv.conf: glibc's default applies
  }
  return parseResolvConf(text).nameservers.map((address) => ({ address }));
}

/** One listener per gateway address. */
export class DnsSet {
  private readonly running = new Map<string, { forwarder: DnsForwarder; forward: boolean }>();
  private readonly failed = new Map<string, { error: string; at: number }>();
  /** Sockets bound for this supervisor by the `stack` that started it (activation.ts), by address, until used. */
  private readonly handed: Map<string, DnsSockets>;

  constructor(
    private readonly upstreams: readonly Upstream[],
    private readonly log: (message: string) => void,
    handed: Readonly<Record<string, DnsSockets>> = {},
  ) {
    this.handed = new Map(Object.entries(handed));
  }

  /** Whether something wanted failed and waits for its retry (the next reconcile tries it again). */
  get retrying(): boolean {
    return this.failed.size > 0;
  }

  /** Starts, updates and stops listeners to match `wanted`; `retryNow` retries failed ones without waiting. */
  async reconcile(wanted: readonly DnsListener[], retryNow = false, now = Date.now()): Promise<void> {
    const byAddress = new Map(wanted.map((l) => [l.address, l]));
    for (const [address, entry] of this.running) {
      const want = byAddress.get(address);
      if (want && want.forward === entry.forward) continue;
      this.running.delete(address);
      await entry.forwarder.close();
    }
    for (const address of this.failed.keys()) if (!byAddress.has(address)) this.failed.delete(address);
    for (const [address, listener] of byAddress) {
      const entry = this.running.get(address);
      if (entry) {
        entry.forwarder.setNames(address, listener.names, listener.upstreamsOf ?? new Map(), listener.aliasesOf ?? new Map());
        continue;
      }
      const failure = this.failed.get(address);
      if (failure && !retryNow && now - failure.at < RETRY_MS) continue;
      const fds = this.handed.get(address);
      this.handed.delete(address);
      try {
        const forwarder = await startDnsForwarder([fds === undefined ? listener : { ...listener, fds }], { upstreams: this.upstreams, log: this.log });
        this.running.set(address, { forwarder, forward: listener.forward });
        this.failed.delete(address);
        this.log(`dns listening on ${address}:${forwarder.bound[0]?.port ?? '?'}`);
      } catch (e) {
        const error = e instanceof Error ? e.message : String(e);
        if (failure?.error !== error) this.log(`dns on ${address}: ${error}`);
        this.failed.set(address, { error, at: now });
      }
    }
    closeSockets([...this.handed.values()].flatMap((s) => [s.udp, s.tcp]));
    this.handed.clear();
  }

  /** Gateways listened on. */
  addresses(): string[] {
    return [...this.running.keys()].sort();
  }

  async close(): Promise<void> {
    const all = [...this.running.values()];
    this.running.clear();
    await Promise.allSettled(all.map((e) => e.forwarder.close()));
  }
}
