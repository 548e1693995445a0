// The outside world's resolver: outside.test → the address given, NXDOMAIN for anything else.
// Usage: node dns-server.mjs <listen address> <answer address>
import dgram from 'node:dgram';

const [listen, answerAddress] = process.argv.slice(2);
const socket = dgram.createSocket('udp4');
socket.on('message', (q, peer) => {
  let end = 12;
  const labels = [];
  while (q[end]) {
    labels.push(q.toString('latin1', end + 1, end + 1 + q[end]));
    end += 1 + q[end];
  }
  end += 5;
  const known = labels.join('.').toLowerCase() === 'outside.test';
  const head = Buffer.from(q.subarray(0, 12));
  head.writeUInt16BE(0x8180 | (known ? 0 : 3), 2);
  head.writeUInt16BE(known ? 1 : 0, 6);
  head.writeUInt32BE(0, 8);
  const rr = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, ...answerAddress.split('.').map(Number)]);
  socket.send(Buffer.concat([head, q.subarray(12, end), known ? rr : Buffer.alloc(0)]), peer.port, peer.address);
});
socket.bind(53, listen, () => console.log('ready'));
