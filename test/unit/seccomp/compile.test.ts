// compiledSeccompPairs when the launches of one `up` ask at once: one answer for all of them.
// The compiler here is a script standing in for native/build/seccomp (the real one runs in
// test/integration/escape/seccomp.test.ts); what is counted is the rule pairs' building.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { DEFAULT_CAPABILITIES } from '../../../src/runtime/caps.js';

const built = vi.hoisted(() => ({ count: 0 }));
vi.mock('../../../src/runtime/seccomp/resolve.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../../src/runtime/seccomp/resolve.js')>();
  return {
    ...original,
    seccompRequestPairs: (...args: Parameters<typeof original.seccompRequestPairs>) => {
      built.count++;
      return original.seccompRequestPairs(...args);
    },
  };
});
const { compiledSeccompPairs, serviceSeccomp } = await import('../../../src/runtime/seccomp/index.js');

let dir: string;
let previousCache: string | undefined;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'stack-seccomp-compile-'));
  previousCache = process.env.STACK_CACHE;
  process.env.STACK_CACHE = join(dir, 'cache'); // nothing read from or kept in /var/cache
});
afterAll(() => {
  if (previousCache === undefined) delete process.env.STACK_CACHE;
  else process.env.STACK_CACHE = previousCache;
  rmSync(dir, { recursive: true, force: true });
});

/** A compiler that reads the pairs and prints one 8-byte instruction, or fails. */
function compiler(name: string, works: boolean): string {
  const path = join(dir, name);
  writeFileSync(path, works ? "#!/bin/sh\ncat > /dev/null\nprintf 'ABCDEFGH'\n" : '#!/bin/sh\ncat > /dev/null\nexit 1\n');
  chmodSync(path, 0o755);
  return path;
}

/** `n` launches asking at once for the default filter, compiled by `path`: their answers, and the pairs' builds since. */
async function askAtOnce(n: number, path: string) {
  const filter = serviceSeccomp({}, DEFAULT_CAPABILITIES);
  const before = built.count;
  const answers = await Promise.all(Array.from({ length: n }, () => compiledSeccompPairs(filter, path)));
  return { filter, answers, builds: () => built.count - before };
}

test('launches asking at once for one filter share one answer: its pairs built once, each launch a copy of its own', async () => {
  const works = compiler('works', true);
  const { filter, answers, builds } = await askAtOnce(5, works);
  expect(builds()).toBe(1);
  expect(answers[0]).toEqual([['seccomp_bpf', Buffer.from('ABCDEFGH').toString('hex')]]);
  for (const a of answers) expect(a).toEqual(answers[0]);
  answers[0]![0]![1] = 'changed';
  answers[0]!.pop();
  expect(answers[1]).toEqual([['seccomp_bpf', Buffer.from('ABCDEFGH').toString('hex')]]);
  // Answered: a later launch builds nothing.
  expect(await compiledSeccompPairs(filter, works)).toEqual(answers[1]);
  expect(builds()).toBe(1);
});

test('a failed compilation is shared by the launches that asked meanwhile (the rules), and tried again by the next', async () => {
  const failing = compiler('fails', false);
  const { filter, answers, builds } = await askAtOnce(3, failing);
  expect(builds()).toBe(1);
  for (const a of answers) expect(a[0]?.[0]).toBe('seccomp_default');
  await compiledSeccompPairs(filter, failing);
  expect(builds()).toBe(2);
});

test('a kept filter is read back only from a folder and a file no one else may write: a planted one elsewhere is compiled anew', async () => {
  const works = compiler('keeps', true);
  process.env.STACK_CACHE = join(dir, 'cache-kept'); // its own: the one kept file is this test's (afterAll puts it back)
  const compiled = [['seccomp_bpf', Buffer.from('ABCDEFGH').toString('hex')]];
  const planted = [['seccomp_bpf', Buffer.from('PLANTED!').toString('hex')]];
  /** The default filter's answer from a fresh module (nothing remembered in memory): what the kept file gives. */
  const fresh = async () => {
    vi.resetModules();
    const m = await import('../../../src/runtime/seccomp/index.js');
    return m.compiledSeccompPairs(m.serviceSeccomp({}, DEFAULT_CAPABILITIES), works);
  };
  expect(await fresh()).toEqual(compiled); // compiled, and kept
  const folder = join(process.env.STACK_CACHE!, 'seccomp');
  const [kept, ...more] = readdirSync(folder).filter((n) => n.endsWith('.bpf'));
  expect(more).toEqual([]);
  writeFileSync(join(folder, kept!), 'PLANTED!');
  expect(await fresh()).toEqual(planted); // the kept file is what is read back
  chmodSync(folder, 0o777);
  expect(await fresh()).toEqual(compiled); // a folder others may write: not read (nor written)
  expect(readFileSync(join(folder, kept!), 'latin1')).toBe('PLANTED!');
  chmodSync(folder, 0o700);
  chmodSync(join(folder, kept!), 0o666);
  expect(await fresh()).toEqual(compiled); // a file others may write: not read; kept anew
  expect(readFileSync(join(folder, kept!), 'latin1')).toBe('ABCDEFGH');
});
