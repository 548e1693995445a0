// The packs scripts/bundle.mjs writes into dist/bundle/ (src/code-cache.cjs runs a command's
// chunks from them): each member is exactly its chunk's file, an entry's pack holds what the
// entry requires, and a real command runs its chunks from packs instead of reading each file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInThisContext } from 'node:vm';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bundle = join(root, 'dist', 'bundle');
const require = createRequire(import.meta.url);
const HEADER = 'function (exports, require, module, __filename, __dirname) {\n';
const WRAPPER = ['(function (exports, require, module, __filename, __dirname) { ', '\n});'] as const;

/** The members of a pack: chunk name → the code it runs for that chunk. */
function members(pack: string): Map<string, string> {
  // A pack's file is its code inside Node's wrapper (scripts/bundle.mjs): the function it evaluates to makes its exports.
  const text = readFileSync(join(bundle, pack), 'utf8');
  expect(text.startsWith(WRAPPER[0]) && text.endsWith(WRAPPER[1]), pack).toBe(true);
  const module = { exports: {} as Record<string, (...args: unknown[]) => unknown> };
  (runInThisContext(text) as (...args: unknown[]) => void)(module.exports, require, module, join(bundle, pack), bundle);
  const fns = module.exports;
  return new Map(Object.entries(fns).map(([name, fn]) => {
    const text = fn.toString();
    expect(text.startsWith(HEADER)).toBe(true);
    return [name, text.slice(HEADER.length, -2)];
  }));
}

/** The chunks a CommonJS chunk requires at its top (its static imports). */
const staticRequires = (text: string): string[] => [...text.matchAll(/^var \w+ = require\("\.\/([\w.-]+\.cjs)"\);$/gm)].map((m) => m[1]!);

describe('the bundle packs', () => {
  it('is built (npm run build)', () => {
    expect(existsSync(join(bundle, 'cli.cjs'))).toBe(true);
  });

  it('holds in each pack the exact code of its chunks', () => {
    const packs = readdirSync(bundle).filter((n) => n.startsWith('pack.') && n.endsWith('.cjs'));
    expect(packs).toContain('pack.cli.cjs');
    for (const pack of packs) {
      const held = members(pack);
      for (const [name, code] of held) {
        // Packs and chunks of an earlier build go together (bundle.mjs removes both after an hour).
        const file = join(bundle, name);
        expect(existsSync(file), `${pack}: ${name}`).toBe(true);
        expect(code, `${pack}: ${name}`).toBe(readFileSync(file, 'utf8'));
      }
      // Its first line lists its members and their sizes (src/code-cache.cjs packMembers).
      const first = readFileSync(join(bundle, pack), 'latin1').split('\n', 1)[0]!;
      const listed = /^\(function \(exports, require, module, __filename, __dirname\) \{ \/\* stack-pack (.*) \*\/$/.exec(first)?.[1];
      expect(listed, pack).toBeDefined();
      expect(listed!.split(' ').sort(), pack).toEqual([...held.keys()].map((name) => `${name}:${statSync(join(bundle, name)).size}`).sort());
    }
  });

  it('keeps the launch side out of the packs of a teardown and of the supervisor', () => {
    // The chunks this build's CLI reaches (static requires and dynamic imports alike): the
    // folder may hold an earlier build's files too.
    const reached = new Set<string>();
    const visit = (name: string): void => {
      if (reached.has(name) || !existsSync(join(bundle, name))) return;
      reached.add(name);
      for (const m of readFileSync(join(bundle, name), 'utf8').matchAll(/(?:require|import)\("\.\/([\w.-]+\.c?js)"\)/g)) visit(m[1]!);
    };
    visit('cli.cjs');
    const kernel = [...reached].filter((n) => /^kernel-[A-Z0-9]+\.cjs$/.test(n));
    expect(kernel).toHaveLength(1);
    const code = (pack: string): string => [...members(pack).values()].join('\n');
    const teardown = code(`pack.${kernel[0]}`);
    const supervisor = code('pack.supervisor-main.cjs');
    // What a stop runs is there; what starts a service is not (runtime/control.ts, executor/kernel.ts).
    expect(teardown).toMatch(/function stopService\(/);
    for (const launchSide of [/function startServiceProcess\(/, /function prepareLauncher\(/, /function compiledSeccompPairs\(/, /function prepareMounts\(/]) {
      expect(teardown).not.toMatch(launchSide);
      expect(supervisor).not.toMatch(launchSide);
    }
  });

  it("gives an entry's static requires, and theirs, to its pack", () => {
    for (const entry of ['cli.cjs', 'supervisor-main.cjs']) {
      const packed = members(`pack.${entry}`);
      const want = new Set<string>();
      const visit = (name: string) => {
        for (const next of staticRequires(readFileSync(join(bundle, name), 'utf8'))) {
          if (next === 'code-cache.cjs' || want.has(next)) continue;
          want.add(next);
          visit(next);
        }
      };
      visit(entry);
      expect(want.size).toBeGreaterThan(0);
      expect([...packed.keys()].sort(), entry).toEqual([...want].sort());
    }
  });

  describe('a command', () => {
    let state: string;
    beforeAll(() => {
      state = mkdtempSync(join(tmpdir(), 'stack-packs-'));
    });
    afterAll(() => rmSync(state, { recursive: true, force: true }));

    it('runs its chunks from packs: `stack ps` reads a handful of bundle files', () => {
      // The stats of src/code-cache.cjs, printed as the CLI leaves (a project that does not exist: nothing runs).
      const probe = `process.on('exit', () => process.stderr.write('STATS ' + JSON.stringify(require(${JSON.stringify(join(bundle, 'code-cache.cjs'))}).stats()) + '\\n'));`;
      const { stderr } = spawnSync(process.execPath, ['-e', `${probe} process.argv.splice(1, 0, ${JSON.stringify(join(root, 'bin', 'stack.cjs'))}); require(process.argv[1]);`, 'ps', '-p', 'packsprobe'], {
        env: { ...process.env, STACK_ROOT: join(state, 'root'), STACK_CACHE: join(state, 'cache') },
        encoding: 'utf8',
      });
      const line = /STATS (.*)/.exec(stderr)?.[1];
      expect(line, stderr).toBeDefined();
      const stats = JSON.parse(line!) as { compiled: number; packed: number };
      expect(stats.packed).toBeGreaterThan(15);
      expect(stats.compiled).toBeLessThanOrEqual(5);
    });

    it('runs the CLI\'s entry itself from kept code: bin/stack.cjs installs the cache before it loads cli.cjs', () => {
      const cache = join(state, 'entry-cache');
      const env = { ...process.env, STACK_ROOT: join(state, 'root'), STACK_CACHE: cache };
      // A command that ends well (a failed run keeps no code): `ps` of a project with nothing on this host.
      const ps = spawnSync(process.execPath, [join(root, 'bin', 'stack.cjs'), '-p', 'packsprobe', 'ps'], { env, encoding: 'utf8' });
      expect(ps.status, ps.stderr).toBe(0);
      // <folder>-<file>.<inode>-<mtime>-<size>.<node, flags>: one for cli.cjs beside the packs'.
      expect(readdirSync(join(cache, 'code')).filter((n) => /^[0-9a-f]+-cli\.cjs\./.test(n))).toHaveLength(1);
    });
  });
});
