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

for (const file of existsSync(src) ? readdirSync(src) : []) {
  if (!file.endsWith('.c')) continue;
  const input = join(src, file);
  const output = join(out, file.slice(0, -2));
  if (existsSync(output) && statSync(output).mtimeMs >= statSync(input).mtimeMs) continue;
  const args = ['-O2', '-Wall', '-Wextra', '-Werror', '-std=gnu11', '-o', output, input];
  try {
    execFileSync('gcc', args, { stdio: 'inherit' });
  } catch {
    console.error(`stack: building native/${file} failed (gcc ${args.join(' ')})`);
    process.exit(1);
  }
}
