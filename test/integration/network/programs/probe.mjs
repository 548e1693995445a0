// Connects to host:port and prints what happened as JSON: {"ok":true,"line":...} with the first
// line the server sent, or {"ok":false,"code":"TIMEOUT"|"ECONNREFUSED"|...}.
// Usage: node probe.mjs <host> <port> <timeoutMs>
import net from 'node:net';

const [host, port, timeoutMs] = process.argv.slice(2);
const done = (result) => {
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
};
const socket = net.connect({ host, port: Number(port) });
setTimeout(() => done({ ok: false, code: 'TIMEOUT' }), Number(timeoutMs));
let text = '';
socket.on('data', (d) => (text += d));
socket.on('end', () => done({ ok: true, line: text.trim() }));
socket.on('error', (e) => done({ ok: false, code: e.code }));
