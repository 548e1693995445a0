// A tiny HTTP API: GET /health, GET / (hostname and hit count), POST /jobs (counts a job).
import { createServer } from 'node:http';
import { hostname } from 'node:os';

let hits = 0;
let jobs = 0;
const port = Number(process.env.PORT ?? 8080);

const server = createServer((req, res) => {
  if (req.url === '/health') return void res.end('ok\n');
  if (req.method === 'POST' && req.url === '/jobs') {
    jobs++;
    return void res.end(JSON.stringify({ jobs }) + '\n');
  }
  hits++;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ service: 'api', hostname: hostname(), hits, jobs }) + '\n');
});

server.listen(port, '0.0.0.0', () => console.log(`api listening on :${port} as ${hostname()}`));
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    console.log(`api: ${signal}, closing`);
    server.close(() => process.exit(0));
  });
}
