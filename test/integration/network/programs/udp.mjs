// Sends one datagram to host:port and prints {"reply":...} or {"code":"TIMEOUT"}.
// Usage: node udp.mjs <host> <port> <text>
import dgram from 'node:dgram';

const [host, port, text] = process.argv.slice(2);
const socket = dgram.createSocket('udp4');
const timer = setTimeout(() => {
  console.log(JSON.stringify({ code: 'TIMEOUT' }));
  process.exit(0);
}, 2000);
socket.on('message', (msg) => {
  clearTimeout(timer);
  console.log(JSON.stringify({ reply: String(msg) }));
  socket.close();
});
socket.send(text, Number(port), host);
