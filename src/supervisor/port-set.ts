// The published ports the supervisor keeps open, reconciled against the ports the project
// wants whenever the records change: new ones opened, removed ones closed, ones that could
// not be bound (PORT_IN_USE) retried. A `hostPort: 0` entry remembers the port it got, so
// after a supervisor restart it listens on the same one again.
import { closeSockets } from './handed.js';
import { forwardTcp, forwardUdp, portKey, portLabel, type BoundPort, type PublishedPort } from '../network/portfwd/index.js';

/** How one wanted port is doing. */
export interface PortState {
  readonly port: PublishedPort;
  /** Where it listens, when it does. */
  readonly boundPort?: number;
  /** Why it does not (the bind error), when it does not. */
  readonly error?: string;
}

/** Ports remembered by key (see portKey). */
export type RememberedPorts = Record<string, number>;

/** Retry delay for a port that could not be bound. */
const RETRY_MS = 500;
/**
 * How long a `hostPort: 0` entry insists on the port it had before (its old holder, a killed
 * supervisor, may still be closing it) before it takes any free one.
 */
const REMEMBERED_FOR_MS = 10_000;

interface Open {
  readonly port: BoundPort;
  close(): Promise<void>;
}

/** The set of forwarders of one project. */
export class PortSet {
  private readonly open = new Map<string, Open>();
  private readonly failed = new Map<string, { port: PublishedPort; error: string; at: number; since: number }>();
  /** Sockets bound for this supervisor by the `stack` that started it (activation.ts), by port key, until used. */
  private readonly handed: Map<string, number>;

  constructor(
    private readonly log: (message: string) => void,
    private readonly remembered: RememberedPorts,
    private readonly remember: (ports: RememberedPorts) => void,
    handed: Readonly<Record<string, number>> = {},
  ) {
    this.handed = new Map(Object.entries(handed));
  }

  /** Whether something wanted failed and waits for its retry (the next reconcile tries it again). */
  get retrying(): boolean {
    return this.failed.size > 0;
  }

  /** Opens what `wanted` adds, closes what it drops; `retryNow` retries failed ports without waiting. */
  async reconcile(wanted: readonly PublishedPort[], retryNow = false, now = Date.now()): Promise<void> {
    const keys = new Map(wanted.map((p) => [portKey(p), p]));
    for (const [key, forwarder] of this.open) {
      if (keys.has(key)) continue;
      this.open.delete(key);
      await forwarder.close();
      this.log(`closed ${portLabel({ ...forwarder.port, hostPort: forwarder.port.boundPort })} (${forwarder.port.service})`);
    }
    for (const key of this.failed.keys()) if (!keys.has(key)) this.failed.delete(key);
    await Promise.all(
      [...keys].map(async ([key, port]) => {
        if (this.open.has(key)) return;
        const failure = this.failed.get(key);
        if (failure && !retryNow && now - failure.at < RETRY_MS) return;
        try {
          const forwarder = await this.listen(key, port, now - (failure?.since ?? now) < REMEMBERED_FOR_MS);
          this.open.set(key, forwarder);
          this.failed.delete(key);
          this.log(`listening on ${portLabel({ ...port, hostPort: forwarder.port.boundPort })} → ${port.service} ${port.targetIp}:${port.targetPort}`);
        } catch (e) {
          const error = e instanceof Error ? e.message : String(e);
          if (failure?.error !== error) this.log(`cannot listen: ${error}`);
          this.failed.set(key, { port, error, at: now, since: failure?.since ?? now });
        }
      }),
    );
    closeSockets(this.handed.values());
    this.handed.clear();
  }

  private async listen(key: string, port: PublishedPort, insist: boolean): Promise<Open> {
    const fd = this.handed.get(key);
    this.handed.delete(key);
    const start = (p: PublishedPort, socket?: number): Promise<Open> => (p.protocol === 'tcp' ? forwardTcp(p, this.log, socket) : forwardUdp(p, this.log, undefined, socket));
    const again = this.remembered[key];
    if (fd === undefined && port.hostPort === 0 && again !== undefined) {
      try {
        const forwarder = await start({ ...port, hostPort: again });
        return { port: { ...forwarder.port, hostPort: 0 }, close: () => forwarder.close() };
      } catch (e) {
        if (insist) throw e;
        // taken for good: any free port will do
      }
    }
    // A socket the `stack` that started this supervisor bound for it (activation.ts, on the
    // remembered port when it could have it) is taken as it is.
    const forwarder = await start(port, fd);
    if (port.hostPort === 0 && this.remembered[key] !== forwarder.port.boundPort) {
      this.remembered[key] = forwarder.port.boundPort;
      this.remember(this.remembered);
    }
    return forwarder;
  }

  /** Every wanted port and how it does, in a stable order. */
  states(): PortState[] {
    const states: PortState[] = [
      ...[...this.open.values()].map((f) => ({ port: withoutBound(f.port), boundPort: f.port.boundPort })),
      ...[...this.failed.values()].map((f) => ({ port: f.port, error: f.error })),
    ];
    return states.sort((a, b) => (portKey(a.port) < portKey(b.port) ? -1 : 1));
  }

  async close(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    this.failed.clear();
    await Promise.allSettled(all.map((f) => f.close()));
  }
}


function withoutBound(p: BoundPort): PublishedPort {
  const { boundPort: _bound, ...port } = p;
  void _bound;
  return port;
}
