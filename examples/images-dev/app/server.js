// The images-dev example's app (Node 18+, CommonJS): on start it creates a `boots` table in
// postgres and records this start in it, then answers HTTP on $PORT:
//   GET /        JSON: the visit count (INCR in redis), every boot row from postgres, the versions of both servers and of node
//   GET /health  200 once postgres and redis were reached (the compose healthcheck asks it)
// Connection settings come from the environment: PGHOST, PGUSER, PGPASSWORD, PGDATABASE (read by
// `pg` itself) and REDIS_URL. SIGTERM closes everything and exits 0.
'use strict';
const http = require('node:http');
const os = require('node:os');
const { Pool } = require('pg');
const { createClient } = require('redis');

const port = Number(process.env.PORT || 8080);
const pool = new Pool({ max: 4 });
const redis = createClient({ url: process.env.REDIS_URL || 'redis://redis:6379' });
redis.on('error', (e) => console.error(`app: redis: ${e.message}`));

// One JSON answer.
function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body, null, 2) + '\n');
}

// GET / reads from both stores on every request.
async function home() {
  const visits = await redis.incr('visits');
  const { rows } = await pool.query('SELECT id, at, hostname FROM boots ORDER BY id');
  const { rows: [pg] } = await pool.query('SHOW server_version');
  const info = await redis.info('server');
  return {
    visits,
    boots: rows,
    postgres: pg.server_version,
    redis: (/redis_version:(\S+)/.exec(info) || [])[1],
    node: process.version,
  };
}

const server = http.createServer((req, res) => {
  if (req.method !== 'GET') return send(res, 405, { error: 'GET only' });
  if (req.url === '/health') return send(res, 200, { ok: true });
  if (req.url !== '/') return send(res, 404, { error: `no such path: ${req.url}` });
  home().then((body) => send(res, 200, body), (e) => send(res, 500, { error: e.message }));
});

async function main() {
  await redis.connect();
  await pool.query('CREATE TABLE IF NOT EXISTS boots (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), hostname text NOT NULL)');
  const { rows: [boot] } = await pool.query('INSERT INTO boots (hostname) VALUES ($1) RETURNING id', [os.hostname()]);
  server.listen(port, '0.0.0.0', () => console.log(`app: boot ${boot.id} recorded in postgres; listening on :${port}`));
}

// Node as a service's first process has no default SIGTERM action: stop cleanly ourselves.
process.on('SIGTERM', () => {
  server.close();
  Promise.allSettled([pool.end(), redis.quit()]).then(() => process.exit(0));
});

main().catch((e) => {
  console.error(`app: cannot start: ${e.message}`);
  process.exit(1);
});
