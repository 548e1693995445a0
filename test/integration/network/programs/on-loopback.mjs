// A host daemon on 127.0.0.1 only, like ECS's credentials proxy (what the host DNATs
// 169.254.170.2:80 to): tells each client the address it sees it coming from, then closes.
// Usage: node on-loopback.mjs <port>
import net from 'node:net';

net
  .createServer((s) => s.end(`${s.remoteAddress}\n`))
  .listen(Number(process.argv[2]), '127.0.0.1', () => console.log('ready'));
