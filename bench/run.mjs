// `npm run bench`: builds, then runs every bench/*.mjs in turn (each prints its own ratios
// against a baseline measured in the same run). Pass names to run only some: npm run bench -- version
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
execFileSync('npm', ['run', '--silent', 'build'], { cwd: join(here, '..'), stdio: 'inherit' });
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.mjs') && f !== 'run.mjs' && !f.startsWith('_'))
  .filter((f) => only.length === 0 || only.includes(f.replace(/\.mjs$/, '')))
  .sort();
let failed = 0;
for (const file of benches) {
  console.log(`\n== ${file.replace(/\.mjs$/, '')} ==`);
  try {
    execFileSync(process.execPath, [join(here, file)], { stdio: 'inherit' });
  } catch {
    failed++;
    console.log(`(${file} failed)`);
  }
}
process.exit(failed ? 1 : 0);
