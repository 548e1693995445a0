// Pushes random bytes through host:port to an echo service and checks they come back intact.
// `count` connections at once, `bytes` each, half-closing after the last byte.
// Prints {"connections":n,"intact":m,"bytes":total}. Usage: node transfer.mjs <host> <port> <bytes> <count>
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';

const [host, port, bytes, count] = process.argv.slice(2);

function one(total) {
  return new Promise((resolve) => {
    const sent = createHash('sha256');
    const received = createHash('sha256');
    let got = 0;
    const socket = net.connect({ host, port: Number(port), allowHalfOpen: true });
    socket.on('error', () => resolve({ intact: false, got }));
    socket.on('data', (d) => {
      got += d.length;
      received.update(d);
    });
    socket.on('end', () => {
      socket.end();
      resolve({ intact: got === total && sent.digest('hex') === received.digest('hex'), got });
    });
    let left = total;
    const pump = () => {
      while (left > 0) {
        const piece = randomBytes(Math.min(1 << 20, left));
        left -= piece.length;
        sent.update(piece);
        if (!socket.write(piece)) return void socket.once('drain', pump);
      }
      socket.end();
    };
    socket.once('connect', pump);
  });
}

const results = await Promise.all(Array.from({ length: Number(count) }, () => one(Number(bytes))));
console.log(
  JSON.stringify({
    connections: results.length,
    intact: results.filter((r) => r.intact).length,
    bytes: results.reduce((a, r) => a + r.got, 0),
  }),
);
