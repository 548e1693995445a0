// A worker that posts a job to the API by its service name every EVERY_MS milliseconds.
const api = process.env.API_URL ?? 'http://api:8080';
const every = Number(process.env.EVERY_MS ?? 1000);

async function tick() {
  try {
    const res = await fetch(`${api}/jobs`, { method: 'POST' });
    console.log(`worker: posted a job, api says ${(await res.text()).trim()}`);
  } catch (e) {
    console.log(`worker: api not reachable (${e.cause?.code ?? e.message})`);
  }
}

const timer = setInterval(tick, every);
tick();
process.on('SIGTERM', () => {
  clearInterval(timer);
  console.log('worker: SIGTERM, done');
  process.exit(0);
});
