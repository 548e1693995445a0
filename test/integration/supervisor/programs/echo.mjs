// A service for the supervisor tests: echoes every TCP chunk and UDP datagram on the given
// port, prefixed with its hostname (which proves the reply came from inside the service).
import dgram from 'node:dgram';
import net from 'node:net';
import { hostname } from 'node:os';

const port = Number(process.argv[2] ?? 8080);
net.createServer((socket) => socket.on('data', (d) => socket.write(`${hostname()}:${d}`)).on('error', () => {})).listen(port);
const udp = dgram.createSocket('udp4');
udp.on('message', (msg, from) => udp.send(`${hostname()}:${msg}`, from.port, from.address));
udp.bind(port);
