// Builds the small C helpers in native/ (the launcher and friends) from source with the
// machine's gcc. Nothing is downloaded; an up-to-date binary is left alone.
import { readdirSync, mkdirSync, statSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'native');
const out = join(src, 'build');
mkdirSync(out, { recursive: true });

// A program is native/<name>.c plus the headers it includes from native/<name>/ and native/*.h.
function newestSource(name, input) {
  let newest = statSync(input).mtimeMs;
  const dirs = [join(src, name)];
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) newest = Math.max(newest, statSync(join(dir, f)).mtimeMs);
  }
  for (const f of readdirSync(src)) if (f.endsWith('.h')) newest = Math.max(newest, statSync(join(src, f)).mtimeMs);
  return newest;
}

for (const file of existsSync(src) ? readdirSync(src) : []) {
  if (!file.endsWith('.c')) continue;
  const input = join(src, file);
  const output = join(out, file.slice(0, -2));
  if (existsSync(output) && statSync(output).mtimeMs >= newestSource(file.slice(0, -2), input)) continue;
  const args = ['-O2', '-Wall', '-Wextra', '-Werror', '-std=gnu11', '-o', output, input];
  try {
    execFileSync('gcc', args, { stdio: 'inherit' });
  } catch {
    console.error(`stack: building native/${file} failed (gcc ${args.join(' ')})`);
    process.exit(1);
  }
}
