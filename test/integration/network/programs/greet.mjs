// A service: on 8080 it tells each client the address it sees it coming from, then closes;
// on 9090 it echoes every byte and ends when the client does; on UDP 9091 it answers each
// datagram with `echo:<datagram>`. Usage: node greet.mjs
import dgram from 'node:dgram';
import net from 'node:net';

const udp = dgram.createSocket('udp4');
udp.on('message', (msg, peer) => udp.send(`echo:${msg}`, peer.port, peer.address));
udp.bind(9091, '0.0.0.0');

net.createServer((s) => s.end(`${s.remoteAddress}\n`)).listen(8080, '0.0.0.0');
net
  .createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    s.pipe(s);
  })
  .listen(9090, '0.0.0.0', () => console.log('ready'));
