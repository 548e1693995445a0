// A service: on 8080 it tells each client the address it sees it coming from, then closes;
// on 9090 it echoes every byte and ends when the client does. Usage: node greet.mjs
import net from 'node:net';

net.createServer((s) => s.end(`${s.remoteAddress}\n`)).listen(8080, '0.0.0.0');
net
  .createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    s.pipe(s);
  })
  .listen(9090, '0.0.0.0', () => console.log('ready'));
