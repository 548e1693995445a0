import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { expect, test } from 'vitest';

// The planner is pure (docs/architecture.md): nothing it loads may do I/O or read a clock or randomness.
// hash.ts alone hashes (sha256, deterministic, no I/O), through sys/lazy-crypto.ts, which requires
// node:crypto on first use and nothing else (a native digest is offered to it by sys/koffi.ts,
// which it does not import).
const root = resolve(__dirname, '../../..');

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  // `import type` is erased by TypeScript: it loads nothing at run time, so it is not followed.
  return [...text.matchAll(/^\s*(?:import|export)(?!\s+type\b)[^'"]*from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1] as string);
}

/** Every file the planner loads, following relative imports from its index. */
function closure(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of imports(file)) if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
  };
  visit(entry);
  return seen;
}

test('the planner loads no I/O, clock or randomness; only hash.ts uses node:crypto, through sys/lazy-crypto.ts', () => {
  const files = [...closure(join(root, 'src/planner/index.ts'))].map((f) => relative(root, f)).sort();
  expect(files).toContain('src/planner/reconcile.ts');
  const outside: string[] = [];
  for (const file of files) {
    for (const spec of imports(join(root, file))) {
      if (spec.startsWith('.')) continue;
      if (file === 'src/sys/lazy-crypto.ts' && spec === 'node:module') continue;
      outside.push(`${file}: ${spec}`);
    }
    if (file !== 'src/planner/hash.ts' && imports(join(root, file)).some((spec) => spec.endsWith('/sys/lazy-crypto.js')))
      outside.push(`${file}: sys/lazy-crypto.ts`);
    const text = readFileSync(join(root, file), 'utf8');
    for (const banned of ['Date.now', 'new Date', 'Math.random', 'performance.now', 'process.env', 'randomBytes', 'randomInt', 'randomUUID', 'randomHex', 'getRandomValues'])
      if (text.includes(banned)) outside.push(`${file}: ${banned}`);
  }
  expect(files).toContain('src/sys/lazy-crypto.ts');
  const lazy = readFileSync(join(root, 'src/sys/lazy-crypto.ts'), 'utf8');
  expect([...new Set([...lazy.matchAll(/['"](node:[^'"]+)['"]/g)].map((m) => m[1]))].sort()).toEqual(['node:crypto', 'node:module']);
  expect(outside).toEqual([]);
});
