// A worker with no dependency: every 2 s it adds one to `worker:ticks` in redis, speaking
// redis's protocol over a plain socket. Its image is built from this folder (Dockerfile).
'use strict';
const net = require('node:net');
const build = require('./build.json');

const host = process.env.REDIS_HOST || 'redis';
console.log(`worker: built with node ${build.node}, ticking redis at ${host}:6379`);

function tick() {
  const socket = net.connect(6379, host, () => socket.write('*2\r\n$4\r\nINCR\r\n$12\r\nworker:ticks\r\n'));
  socket.setTimeout(5000, () => socket.destroy());
  socket.on('data', (data) => {
    const reply = data.toString().trim();
    if (reply.startsWith(':')) console.log(`worker: tick ${reply.slice(1)}`);
    else console.log(`worker: redis said ${reply}`);
    socket.end();
  });
  socket.on('error', (e) => console.log(`worker: redis unreachable (${e.code || e.message})`));
}

tick();
setInterval(tick, 2000);
process.on('SIGTERM', () => process.exit(0));
