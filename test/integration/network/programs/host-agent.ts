// What the per-project supervisor will run, started inside the netns that plays the host:
// the DNS forwarder on the gateways and the published-port forwarders. Bundled by the test
// with esbuild. Prints `ready <bound ports as JSON>`, runs until SIGTERM.
// Usage: node host-agent.mjs '<json: {listeners, upstreams, ports}>'
import { startDnsForwarder } from '../../../../src/network/dns/index.js';
import { startPortForwarders, type PublishedPort } from '../../../../src/network/portfwd/index.js';

interface Config {
  listeners: { address: string; names: [string, string[]][]; forward: boolean }[];
  upstreams: { address: string; port?: number }[];
  ports: PublishedPort[];
}

const config = JSON.parse(process.argv[2] ?? '{}') as Config;
const dns = await startDnsForwarder(
  config.listeners.map((l) => ({ address: l.address, names: new Map(l.names), forward: l.forward })),
  { upstreams: config.upstreams, log: (m) => console.error(m) },
);
const ports = await startPortForwarders(config.ports, { log: (m) => console.error(m) });
console.log(`ready ${JSON.stringify(ports.bound)}`);
process.on('SIGTERM', () => {
  void Promise.all([dns.close(), ports.close()]).then(() => process.exit(0));
});
