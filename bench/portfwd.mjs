// Published-port throughput and connection rate through stack's userland forwarder, against a
// direct connection to the service's own address, in one run. Three processes, as in real
// life: the service (a sink that reads everything, then says how much it got) on its own
// 127.0.0.x address, the forwarder (what the supervisor runs) on 127.0.0.1, and the client
// (this process). Loopback is the physical limit here: the direct figure is the ceiling, and
// the ratio is what the forwarder's extra hop costs.
// Needs `npm run build` (it imports dist/). Usage: node bench/portfwd.mjs [MiB per run]
import { spawn } from 'node:child_process';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { median } from './_stats.mjs';
import { emitRow } from './_row.mjs';

const MIB = Number(process.argv[2] ?? 512);
const ROUNDS = 5;
const CONNECTIONS = 2000;
const CONCURRENCY = 50;
const serviceIp = `127.0.${10 + Math.floor(Math.random() * 200)}.${2 + Math.floor(Math.random() * 200)}`;

const SERVICE = `
  const net = require('node:net');
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    let n = 0;
    s.on('data', (d) => (n += d.length));
    s.on('end', () => s.end(n + '\\n'));
  });
  server.listen(0, process.argv[1], () => console.log(server.address().port));`;
const FORWARDER = `
  import(process.argv[1]).then(async ({ startPortForwarders }) => {
    const f = await startPortForwarders([JSON.parse(process.argv[2])]);
    console.log(f.bound[0].boundPort);
  });`;

/** Starts a helper process and resolves with the first line it prints (its port). */
function helper(code, ...args) {
  const child = spawn(process.execPath, ['-e', code, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(Number(String(d).trim())));
    child.once('exit', (c) => reject(new Error(`helper exited ${c}`)));
  });
}
const children = [];
process.on('exit', () => children.forEach((c) => c.kill()));

const servicePort = await helper(SERVICE, serviceIp);
const target = {
  service: 'bench',
  hostIp: '127.0.0.1',
  hostPort: 0,
  protocol: 'tcp',
  targetIp: serviceIp,
  targetPort: servicePort,
};
const publishedPort = await helper(
  FORWARDER,
  new URL('../dist/network/portfwd/index.js', import.meta.url).href,
  JSON.stringify(target),
);

/** Sends `bytes` over one connection and waits for the service's count; returns MiB/s. */
function push(host, port, bytes) {
  const chunk = Buffer.alloc(1 << 20, 7);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const s = net.connect({ host, port, allowHalfOpen: true });
    let reply = '';
    s.on('error', reject);
    s.on('data', (d) => (reply += d));
    s.on('end', () => {
      s.end();
      if (Number(reply) !== bytes) return reject(new Error(`service got ${reply.trim()} of ${bytes} bytes`));
      resolve(bytes / (1 << 20) / ((performance.now() - t0) / 1000));
    });
    let left = bytes;
    const pump = () => {
      while (left > 0) {
        left -= chunk.length;
        if (!s.write(chunk)) return void s.once('drain', pump);
      }
      s.end();
    };
    s.once('connect', pump);
  });
}

/** Opens `CONNECTIONS` short connections, `CONCURRENCY` at a time, each sending 1 byte; returns connections/s. */
async function churn(host, port) {
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next++ < CONNECTIONS) {
      await new Promise((resolve, reject) => {
        const s = net.connect({ host, port, allowHalfOpen: true }, () => s.end('x'));
        s.on('error', reject);
        s.on('data', () => {});
        s.on('end', () => (s.end(), resolve()));
      });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return CONNECTIONS / ((performance.now() - t0) / 1000);
}

const direct = [];
const forwarded = [];
await push(serviceIp, servicePort, 64 << 20); // warm-up
await push('127.0.0.1', publishedPort, 64 << 20);
for (let i = 0; i < ROUNDS; i++) {
  direct.push(await push(serviceIp, servicePort, MIB << 20));
  forwarded.push(await push('127.0.0.1', publishedPort, MIB << 20));
}
const directRate = await churn(serviceIp, servicePort);
const forwardedRate = await churn('127.0.0.1', publishedPort);
for (const c of children) c.kill();

const d = median(direct);
const f = median(forwarded);
console.log(`throughput, ${MIB} MiB per connection, median of ${ROUNDS}:`);
console.log(`  direct to ${serviceIp}:${servicePort}   ${d.toFixed(0)} MiB/s`);
console.log(`  published 127.0.0.1:${publishedPort}  ${f.toFixed(0)} MiB/s`);
console.log(`  ratio published/direct: ${(f / d).toFixed(2)}`);
// As times, so a higher ratio is worse, as in every other row: ms per MiB, ms per connection.
emitRow('portfwd', 'throughput (ms per MiB)', 1000 / f, 1000 / d, null, 'direct connection');
emitRow('portfwd', 'connect (ms per connection)', 1000 / forwardedRate, 1000 / directRate, null, 'direct connection');
console.log(`connections (${CONNECTIONS}, ${CONCURRENCY} at a time, 1 byte each way):`);
console.log(
  `  direct ${directRate.toFixed(0)}/s, published ${forwardedRate.toFixed(0)}/s, ratio ${(forwardedRate / directRate).toFixed(2)}`,
);
