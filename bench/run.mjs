// `npm run bench`: builds, runs every bench/*.mjs in turn (each prints its own figures against a
// floor measured in the same run, plus one `@row {json}` line per measured row, bench/_row.mjs),
// then prints all rows as ONE table (bench, row, ours, floor, ratio, target, ✓/✗), writes it to
// bench/last.json and compares it with bench/baseline.json, naming every ratio worse by more
// than 20 %. Pass names to run only some (`npm run bench -- lifecycle version`), --rounds N to
// pass a round count to the benches that take one (BENCH_ROUNDS), --save-baseline to write
// this run's table to bench/baseline.json, --no-build to skip `npm run build`.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync, spawn } from 'node:child_process';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  if (i >= 0) args.splice(i, 1);
  return i >= 0;
};
const option = (name) => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const [, value] = args.splice(i, 2);
  return value;
};
const saveBaseline = flag('--save-baseline');
const noBuild = flag('--no-build');
const rounds = option('--rounds');
const only = args;
/** A ratio worse than the baseline's by more than this share is named. */
const WORSE = 0.2;

if (!noBuild) execFileSync('npm', ['run', '--silent', 'build'], { cwd: join(here, '..'), stdio: 'inherit' });
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.mjs') && f !== 'run.mjs' && !f.startsWith('_'))
  .filter((f) => only.length === 0 || only.includes(f.replace(/\.mjs$/, '')))
  .sort();
for (const name of only) if (!benches.includes(`${name}.mjs`)) console.error(`bench/run.mjs: no bench named ${name}`);

/** Runs one bench, passing its human output through and collecting its @row lines. */
function runBench(file) {
  return new Promise((resolve) => {
    const rows = [];
    const env = { ...process.env, ...(rounds !== undefined && { BENCH_ROUNDS: rounds }) };
    const child = spawn(process.execPath, [join(here, file)], { stdio: ['ignore', 'pipe', 'inherit'], env });
    let buffered = '';
    const take = (line) => {
      if (line.startsWith('@row ')) {
        try {
          rows.push(JSON.parse(line.slice(5)));
        } catch {
          console.log(`(${file}: unreadable row line: ${line})`);
        }
      } else console.log(line);
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      buffered += d;
      const lines = buffered.split('\n');
      buffered = lines.pop();
      for (const line of lines) take(line);
    });
    child.once('close', (code, signal) => {
      if (buffered) take(buffered);
      resolve({ rows, ok: code === 0, status: code ?? signal });
    });
  });
}

const started = new Date();
const load0 = loadavg();
const rows = [];
const failed = [];
for (const file of benches) {
  console.log(`\n== ${file.replace(/\.mjs$/, '')} ==`);
  const r = await runBench(file);
  rows.push(...r.rows);
  if (!r.ok) {
    failed.push(file);
    console.log(`(${file} failed: ${r.status})`);
  }
}
const load1 = loadavg();

const key = (r) => `${r.bench}\0${r.row}`;
const ours = (r) => (r.ours_ms !== undefined ? `${r.ours_ms.toFixed(2)} ms` : `${r.ours_kib} KiB`);
const floor = (r) => (r.floor_ms !== undefined ? `${r.floor_ms.toFixed(2)} ms` : `${r.limit_kib} KiB`);
const verdict = (r) => (r.target === null || r.target === undefined ? '' : r.ratio <= r.target ? '✓' : '✗');

const fmt = (n) => n.toFixed(2);
const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, Linux ${release()}`;
// Node parses the certificate bundle NODE_EXTRA_CA_CERTS names before any code runs (40-60 ms
// with Debian's bundle on this kind). `stack` run as a command starts Node without it, and so
// does the CLI floor's `node -e 0` (_row.mjs cliFloorEnv). Named with the table, so runs are compared alike.
const certificates = process.env.NODE_EXTRA_CA_CERTS ? `NODE_EXTRA_CA_CERTS=${process.env.NODE_EXTRA_CA_CERTS}` : 'no NODE_EXTRA_CA_CERTS';
const loadText = (l) => l.map(fmt).join(' ');
console.log(`\n== all rows (${started.toISOString()}, ${machine}, ${certificates}; load average ${loadText(load0)} → ${loadText(load1)}) ==`);
const header = ['bench', 'row', 'ours', 'floor', 'ratio', 'target', ''];
const lines = rows.map((r) => [r.bench, r.row, ours(r), floor(r), `${fmt(r.ratio)}×`, r.target == null ? '-' : `${r.target}×`, verdict(r)]);
const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
const right = new Set([2, 3, 4, 5]);
const print = (cells) => console.log(cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd());
print(header);
for (const l of lines) print(l);

const record = { date: started.toISOString(), machine, certificates, load: { before: load0, after: load1 }, benches: benches.map((f) => f.replace(/\.mjs$/, '')), rows };
writeFileSync(join(here, 'last.json'), `${JSON.stringify(record, null, 2)}\n`);
console.log('\nwritten: bench/last.json');

const baselinePath = join(here, 'baseline.json');
if (existsSync(baselinePath)) {
  const base = JSON.parse(readFileSync(baselinePath, 'utf8'));
  const before = new Map(base.rows.map((r) => [key(r), r]));
  const worse = rows.filter((r) => before.has(key(r)) && r.ratio > before.get(key(r)).ratio * (1 + WORSE));
  const compared = rows.filter((r) => before.has(key(r))).length;
  console.log(`compared with bench/baseline.json (${base.date}, load ${loadText(base.load?.before ?? [])}): ${compared} rows in both`);
  if (base.certificates !== undefined && base.certificates !== certificates) {
    console.log(`  the baseline was run with ${base.certificates}, this run with ${certificates}: Node's start differs, and so does every ratio`);
  }
  for (const r of worse) {
    const b = before.get(key(r));
    console.log(`  worse by more than ${WORSE * 100} %: ${r.bench} / ${r.row}: ${fmt(b.ratio)}× → ${fmt(r.ratio)}× (+${fmt((r.ratio / b.ratio - 1) * 100)} %)`);
  }
  if (worse.length === 0 && compared > 0) console.log(`  no ratio worse by more than ${WORSE * 100} %`);
}
if (saveBaseline) {
  // Only benches that ran to the end replace their rows; the others' rows stay as they were.
  const done = record.benches.filter((b) => !failed.includes(`${b}.mjs`));
  const kept = existsSync(baselinePath) ? JSON.parse(readFileSync(baselinePath, 'utf8')).rows.filter((r) => !done.includes(r.bench)) : [];
  const fresh = rows.filter((r) => done.includes(r.bench));
  writeFileSync(baselinePath, `${JSON.stringify({ ...record, benches: done, rows: [...kept, ...fresh] }, null, 2)}\n`);
  console.log(`written: bench/baseline.json (rows of ${done.join(', ') || 'no bench'}${failed.length ? `; not of the failed ${failed.join(', ')}` : ''})`);
}
if (failed.length) console.log(`failed: ${failed.join(', ')}`);
process.exit(failed.length ? 1 : 0);
