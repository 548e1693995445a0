// Connects to each host:port at once and prints, as one JSON array in argument order, what
// happened: {"ok":true,"line":...} with the first line the server sent, or
// {"ok":false,"code":"TIMEOUT"|"ECONNREFUSED"|...}. Usage: node probe.mjs <timeoutMs> <host:port>...
import net from 'node:net';

const [timeoutMs, ...targets] = process.argv.slice(2);

function probe(target) {
  const at = target.lastIndexOf(':');
  return new Promise((resolve) => {
    const socket = net.connect({ host: target.slice(0, at), port: Number(target.slice(at + 1)) });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ ok: false, code: 'TIMEOUT' });
    }, Number(timeoutMs));
    let text = '';
    socket.on('data', (d) => (text += d));
    socket.on('end', () => {
      clearTimeout(timer);
      resolve({ ok: true, line: text.trim() });
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, code: e.code });
    });
  });
}

console.log(JSON.stringify(await Promise.all(targets.map(probe))));
