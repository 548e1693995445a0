// src/code-cache.cjs (V8's code cache for the bundle's CommonJS files), through real node
// processes: a module's code is kept on exit, compiled from it in the next run, never used for
// another file of the same length, kept apart for other V8 flags, and a cache that cannot be
// written or read costs nothing but compiling.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const hook = fileURLToPath(new URL('../../src/code-cache.cjs', import.meta.url));

let dir: string;
let bundle: string;
let cache: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'stack-code-cache-'));
  bundle = join(dir, 'bundle');
  cache = join(dir, 'cache');
  mkdirSync(bundle);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Runs node: installs the hook for `bundle`, requires mod.cjs, prints its value and what the hook saw. */
function run(flags: string[] = [], env: Record<string, string> = {}): { value: string; stats: { compiled: number; cached: number; rejected: number } } {
  const script = `const c = require(${JSON.stringify(hook)}); c.install(${JSON.stringify(bundle)}); const v = require(${JSON.stringify(join(bundle, 'mod.cjs'))}).value(); process.stdout.write(JSON.stringify({ value: v, stats: c.stats() }));`;
  const out = execFileSync(process.execPath, [...flags, '-e', script], { env: { ...process.env, STACK_CACHE: cache, ...env }, encoding: 'utf8' });
  return JSON.parse(out);
}

/** The bundle files the cache holds code of (one entry per version and flags). */
const kept = (): string[] => readdirSync(join(cache, 'code')).map((n) => (n.split('.')[0] ?? '').replace(/^[0-9a-f]+-/, '')).sort();

const source = (word: string) => `'use strict';\nconst helper = require('./helper.cjs');\nexports.value = () => helper.twice(${JSON.stringify(word)});\n`;

describe('code cache of the bundle', () => {
  beforeEach(() => writeFileSync(join(bundle, 'helper.cjs'), "'use strict';\nexports.twice = (s) => s + s;\n"));

  it('keeps each module on exit and compiles from it in the next run', () => {
    writeFileSync(join(bundle, 'mod.cjs'), source('ab'));
    expect(run()).toEqual({ value: 'abab', stats: { compiled: 2, cached: 0, rejected: 0, packed: 0 } });
    expect(kept()).toEqual(['helper', 'mod']);
    // V8's data begins 8-byte aligned after the first line: V8 copies cached data that is not.
    for (const name of readdirSync(join(cache, 'code'))) expect((readFileSync(join(cache, 'code', name)).indexOf(10) + 1) % 8, name).toBe(0);
    expect(run()).toEqual({ value: 'abab', stats: { compiled: 2, cached: 2, rejected: 0, packed: 0 } });
  });

  it('keeps nothing from a run that fails: the next run that ends well keeps it', () => {
    writeFileSync(join(bundle, 'mod.cjs'), source('ab'));
    const script = `const c = require(${JSON.stringify(hook)}); c.install(${JSON.stringify(bundle)}); require(${JSON.stringify(join(bundle, 'mod.cjs'))}).value(); process.exitCode = 1;`;
    expect(() => execFileSync(process.execPath, ['-e', script], { env: { ...process.env, STACK_CACHE: cache }, stdio: 'ignore' })).toThrow();
    expect(() => readdirSync(join(cache, 'code'))).toThrow(); // nothing made
    expect(run().stats).toEqual({ compiled: 2, cached: 0, rejected: 0, packed: 0 });
    expect(run().stats.cached).toBe(2);
  });

  it('never runs the kept code of another file of the same length', () => {
    writeFileSync(join(bundle, 'mod.cjs'), source('ab'));
    run();
    // A rebuild: same length, other code (V8 itself only compares the length).
    rmSync(join(bundle, 'mod.cjs'));
    writeFileSync(join(bundle, 'mod.cjs'), source('xy'));
    expect(run()).toEqual({ value: 'xyxy', stats: { compiled: 2, cached: 1, rejected: 0, packed: 0 } });
    // The old version's code went when the new one's was written.
    expect(kept()).toEqual(['helper', 'mod']);
    expect(run().stats.cached).toBe(2);
  });

  it('keeps the code for other V8 flags apart (as the supervisor runs node)', () => {
    writeFileSync(join(bundle, 'mod.cjs'), source('ab'));
    run();
    expect(run(['--max-semi-space-size=1'])).toEqual({ value: 'abab', stats: { compiled: 2, cached: 0, rejected: 0, packed: 0 } });
    expect(run(['--max-semi-space-size=1']).stats.cached).toBe(2);
    expect(run().stats.cached).toBe(2);
  });

  it('compiles anew from a damaged kept file, and replaces it', () => {
    writeFileSync(join(bundle, 'mod.cjs'), source('ab'));
    run();
    for (const name of readdirSync(join(cache, 'code'))) writeFileSync(join(cache, 'code', name), 'not V8 code');
    expect(run()).toEqual({ value: 'abab', stats: { compiled: 2, cached: 0, rejected: 2, packed: 0 } });
    expect(run().stats.cached).toBe(2);
  });

  it('costs only compiling when the cache cannot be written, and is off with STACK_CODE_CACHE=0', () => {
    writeFileSync(join(bundle, 'mod.cjs'), source('ab'));
    writeFileSync(cache, 'a file where the cache folder would be');
    expect(run()).toEqual({ value: 'abab', stats: { compiled: 0, cached: 0, rejected: 0, packed: 0 } }); // node compiles
    rmSync(cache);
    expect(run([], { STACK_CODE_CACHE: '0' })).toEqual({ value: 'abab', stats: { compiled: 0, cached: 0, rejected: 0, packed: 0 } });
    expect(() => readdirSync(cache)).toThrow();
  });

  it('neither reads nor writes a cache folder that others may write (its code would run as root)', () => {
    writeFileSync(join(bundle, 'mod.cjs'), source('ab'));
    run();
    chmodSync(join(cache, 'code'), 0o777);
    expect(run()).toEqual({ value: 'abab', stats: { compiled: 0, cached: 0, rejected: 0, packed: 0 } });
    chmodSync(join(cache, 'code'), 0o700);
    expect(run().stats.cached).toBe(2);
  });

  it('finds a sibling chunk without node\'s resolution; a require cycle and a missing chunk behave as in node', () => {
    // a.cjs and b.cjs require each other (b sees a's exports so far); c.cjs requires a chunk that is not there.
    writeFileSync(join(bundle, 'a.cjs'), "'use strict';\nexports.early = 'a-early';\nconst b = require('./b.cjs');\nexports.value = () => b.seen + '/' + b.self();\n");
    writeFileSync(join(bundle, 'b.cjs'), "'use strict';\nconst a = require('./a.cjs');\nexports.seen = a.early;\nexports.self = () => typeof require('./b.cjs').self;\n");
    writeFileSync(join(bundle, 'c.cjs'), "'use strict';\ntry { require('./gone.cjs'); } catch (e) { exports.code = e.code; }\n");
    const script = `const Module = require('node:module'); const resolved = []; const resolve = Module._resolveFilename;
      Module._resolveFilename = function (request, ...rest) { resolved.push(require('node:path').basename(request)); return resolve.call(this, request, ...rest); };
      const c = require(${JSON.stringify(hook)}); c.install(${JSON.stringify(bundle)});
      const a = require(${JSON.stringify(join(bundle, 'a.cjs'))});
      const code = require(${JSON.stringify(join(bundle, 'c.cjs'))}).code;
      process.stdout.write(JSON.stringify({ value: a.value(), code, resolved, stats: c.stats() }));`;
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { env: { ...process.env, STACK_CACHE: cache }, encoding: 'utf8' }));
    expect(out.value).toBe('a-early/function');
    expect(out.code).toBe('MODULE_NOT_FOUND');
    // Node resolved what -e required by path, and the missing chunk (to report it); b.cjs never.
    expect(out.resolved).not.toContain('b.cjs');
    expect(out.resolved).toContain('gone.cjs');
    expect(out.stats.compiled).toBe(3);
  });

  it('a chunk an ES module of the bundle imported first is run, not taken as its empty placeholder', () => {
    // An .mjs chunk importing a .cjs one (ink's chunks do): Node's ES loader puts the CommonJS
    // module in the cache before running it; a chunk that requires it then must get its exports.
    writeFileSync(join(bundle, 'dep.cjs'), "'use strict';\nmodule.exports = { twice: (s) => s + s };\n");
    writeFileSync(join(bundle, 'user.cjs'), "'use strict';\nexports.value = () => require('./dep.cjs').twice('ab');\n");
    // first.mjs runs after the loader parsed dep.cjs and before dep.cjs ran: its require meets the placeholder.
    writeFileSync(join(bundle, 'first.mjs'), "import { createRequire } from 'node:module';\nexport const early = createRequire(import.meta.url)('./user.cjs').value();\n");
    writeFileSync(join(bundle, 'esm.mjs'), "import { early } from './first.mjs';\nimport dep from './dep.cjs';\nexport const value = early + dep.twice('c');\n");
    const script = `const c = require(${JSON.stringify(hook)}); c.install(${JSON.stringify(bundle)});
      import(${JSON.stringify(join(bundle, 'esm.mjs'))}).then((m) => process.stdout.write(m.value), (e) => process.stdout.write('failed: ' + e.message));`;
    expect(execFileSync(process.execPath, ['-e', script], { env: { ...process.env, STACK_CACHE: cache }, encoding: 'utf8' })).toBe('ababcc');
  });

  describe('packs', () => {
    // a.cjs loads b.cjs; pack.a.cjs holds both, with other values, so the output tells which ran.
    const member = (name: string, body: string) => `${JSON.stringify(name)}: function (exports, require, module, __filename, __dirname) {\n'use strict';\n${body}\n},\n`;
    const pack = (...members: string[]) => `'use strict';\nmodule.exports = {\n${members.join('')}};\n`;
    const aFrom = (where: string) => `const b = require('./b.cjs');\nexports.value = () => '${where}-a/' + b.value() + '/' + require('node:path').basename(__filename);`;
    const at = (name: string): string => JSON.stringify(join(bundle, name));
    beforeEach(() => {
      writeFileSync(join(bundle, 'a.cjs'), `'use strict';\n${aFrom('file')}\n`);
      writeFileSync(join(bundle, 'b.cjs'), "'use strict';\nexports.value = () => 'file-b';\n");
      // y.cjs loads x.cjs loads a.cjs: a sibling chain, so a.cjs and b.cjs are found by the hook.
      writeFileSync(join(bundle, 'x.cjs'), "'use strict';\nexports.a = require('./a.cjs');\n");
      writeFileSync(join(bundle, 'y.cjs'), "'use strict';\nexports.x = require('./x.cjs');\n");
    });
    /** Runs `body` in node (the hook installed for `bundle` unless `install` is false) and parses what it printed. */
    const nodeJson = (body: string, install = true) => {
      const script = `const c = require(${JSON.stringify(hook)}); ${install ? `c.install(${JSON.stringify(bundle)});` : ''}\n${body}`;
      return JSON.parse(execFileSync(process.execPath, ['-e', script], { env: { ...process.env, STACK_CACHE: cache }, encoding: 'utf8' }));
    };
    /** Node code that lists, in `opened`, the bundle files read from then on. */
    const trackReads = () => `const fs = require('node:fs'); const read = fs.readFileSync; const open = fs.openSync; const opened = []; let inRead = 0;
      const seen = (p) => { if (String(p).startsWith(${JSON.stringify(bundle)})) opened.push(require('node:path').basename(String(p))); };
      fs.readFileSync = function (p, ...rest) { seen(p); inRead++; try { return read.call(this, p, ...rest); } finally { inRead--; } };
      fs.openSync = function (p, ...rest) { if (inRead === 0) seen(p); return open.call(this, p, ...rest); };`;
    /** a.cjs's value, the bundle files read and the stats, a.cjs required by path (node reads it, as it reads an entry). */
    const runA = () => nodeJson(`${trackReads()}\nconst value = require(${at('a.cjs')}).value();\nprocess.stdout.write(JSON.stringify({ value, opened, stats: c.stats() }));`);
    /** a.cjs's value through y.cjs and x.cjs, `first` (bundle files) required before; and the stats. */
    const viaY = (first: string[] = []) =>
      nodeJson(`for (const f of ${JSON.stringify(first.map((f) => join(bundle, f)))}) require(f);\nprocess.stdout.write(JSON.stringify({ value: require(${at('y.cjs')}).x.a.value(), stats: c.stats() }));`);

    it('runs a chunk and the chunks it loads from its pack, reading neither file', () => {
      writeFileSync(join(bundle, 'pack.a.cjs'), pack(member('a.cjs', aFrom('pack')), member('b.cjs', "exports.value = () => 'pack-b';")));
      // x.cjs is required by path here; a.cjs, a sibling it asks for, comes from the pack.
      const out = nodeJson(`${trackReads()}\nconst value = require(${at('x.cjs')}).a.value();\nprocess.stdout.write(JSON.stringify({ value, opened, stats: c.stats() }));`);
      expect(out.value).toBe('pack-a/pack-b/a.cjs');
      expect(out.opened).toEqual(['x.cjs', 'pack.a.cjs']); // x.cjs: required by path, node reads it
      expect(out.stats.packed).toBe(2);
    });

    it('runs a pack written inside Node\'s wrapper (as scripts/bundle.mjs writes them) as it runs one without', () => {
      const wrapped = (text: string) => `(function (exports, require, module, __filename, __dirname) { ${text}\n});`;
      writeFileSync(join(bundle, 'pack.a.cjs'), wrapped(pack(member('a.cjs', aFrom('pack')), member('b.cjs', "exports.value = () => 'pack-b';"))));
      // The same script twice (node -e's text is among the flags a kept file is for): the second runs from kept code.
      const script = `${trackReads()}\nconst value = require(${at('x.cjs')}).a.value();\nprocess.stdout.write(JSON.stringify({ value, opened, stats: c.stats() }));`;
      expect(nodeJson(script)).toMatchObject({ value: 'pack-a/pack-b/a.cjs', opened: ['x.cjs', 'pack.a.cjs'], stats: { cached: 0, packed: 2 } });
      expect(nodeJson(script)).toMatchObject({ value: 'pack-a/pack-b/a.cjs', stats: { cached: 2, rejected: 0, packed: 2 } });
    });

    it('leaves a member that is loaded already, and reads the files when the pack is missing or damaged', () => {
      writeFileSync(join(bundle, 'pack.x.cjs'), pack(member('x.cjs', "exports.a = require('./a.cjs');"), member('a.cjs', aFrom('pack')), member('b.cjs', "exports.value = () => 'pack-b';")));
      expect(viaY([])).toMatchObject({ value: 'pack-a/pack-b/a.cjs', stats: { packed: 3 } });
      // b.cjs loaded before the pack: its own file's code stays the one module of it.
      expect(viaY(['b.cjs'])).toMatchObject({ value: 'pack-a/file-b/a.cjs', stats: { packed: 2 } });
      writeFileSync(join(bundle, 'pack.x.cjs'), "'use strict';\nmodule.exports = { broken");
      expect(viaY([])).toMatchObject({ value: 'file-a/file-b/a.cjs', stats: { packed: 0 } });
      rmSync(join(bundle, 'pack.x.cjs'));
      expect(viaY([])).toMatchObject({ value: 'file-a/file-b/a.cjs', stats: { packed: 0 } });
      // A sibling without a pack costs one failed read (pack.b.cjs) before its own file.
      expect(runA()).toMatchObject({ value: 'file-a/file-b/a.cjs', opened: ['a.cjs', 'pack.b.cjs', 'b.cjs'] });
    });

    it('leaves a pack most of whose bytes ran already (its first line lists its members and sizes) for the files of the few it lacks', () => {
      const listed = (members: string, text: string) => `(function (exports, require, module, __filename, __dirname) { /* stack-pack ${members} */\n${text}\n});`;
      writeFileSync(join(bundle, 'pack.x.cjs'), listed('x.cjs:10 a.cjs:100 b.cjs:100', pack(member('x.cjs', "exports.a = require('./a.cjs');"), member('a.cjs', aFrom('pack')), member('b.cjs', "exports.value = () => 'pack-b';"))));
      expect(viaY([])).toMatchObject({ value: 'pack-a/pack-b/a.cjs', stats: { packed: 3 } });
      // b.cjs ran first, under half of the pack's bytes: the pack still runs x.cjs and a.cjs.
      expect(viaY(['b.cjs'])).toMatchObject({ value: 'pack-a/file-b/a.cjs', stats: { packed: 2 } });
      // a.cjs ran first, and b.cjs with it: x.cjs (10 of 210 bytes) is read from its own file, nothing from the pack.
      expect(viaY(['a.cjs'])).toMatchObject({ value: 'file-a/file-b/a.cjs', stats: { packed: 0 } });
    });

    it('runs each member once, as one module, through a require cycle inside the pack and a chunk an ES module met first', () => {
      // p.cjs and q.cjs require each other; both count their runs; r.cjs is imported by an .mjs first.
      const counted = (name: string, body: string) => `globalThis.runs = (globalThis.runs ?? []).concat('${name}');\n${body}`;
      writeFileSync(join(bundle, 'r.cjs'), "'use strict';\nexports.from = 'file-r';\n");
      writeFileSync(join(bundle, 'pack.p.cjs'), pack(
        member('p.cjs', counted('p', "exports.early = 'p-early';\nconst q = require('./q.cjs');\nexports.value = () => q.seen + '/' + require('./q.cjs').p().early + '/' + require('./r.cjs').from;")),
        member('q.cjs', counted('q', "const p = require('./p.cjs');\nexports.seen = p.early;\nexports.p = () => require('./p.cjs');")),
        member('r.cjs', counted('r', "exports.from = 'pack-r';")),
      ));
      writeFileSync(join(bundle, 'p.cjs'), "'use strict';\nthrow new Error('the file of a packed chunk ran');\n");
      writeFileSync(join(bundle, 'q.cjs'), "'use strict';\nthrow new Error('the file of a packed chunk ran');\n");
      writeFileSync(join(bundle, 'esm.mjs'), "import r from './r.cjs';\nexport const from = r.from;\n");
      writeFileSync(join(bundle, 'top.cjs'), "'use strict';\nexports.p = require('./p.cjs');\n");
      const out = (esmFirst: boolean) =>
        nodeJson(`(async () => {
          const esm = ${esmFirst} ? (await import(${at('esm.mjs')})).from : '-';
          const top = require(${at('top.cjs')});
          process.stdout.write(JSON.stringify({ esm, value: top.p.value(), same: top.p === require(${at('p.cjs')}), runs: globalThis.runs ?? [], stats: c.stats() }));
        })();`);
      expect(out(false)).toMatchObject({ value: 'p-early/p-early/pack-r', same: true, runs: ['p', 'q', 'r'], stats: { packed: 3 } });
      // The ES module loader read r.cjs from its file before any pack was loaded: that module stays the one.
      expect(out(true)).toMatchObject({ esm: 'file-r', value: 'p-early/p-early/file-r', same: true, runs: ['p', 'q'], stats: { packed: 2 } });
    });

    it('a pack that does not make an object of functions is left for the files', () => {
      writeFileSync(join(bundle, 'pack.x.cjs'), "'use strict';\nmodule.exports = null;\n");
      expect(viaY()).toMatchObject({ value: 'file-a/file-b/a.cjs', stats: { packed: 0 } });
      writeFileSync(join(bundle, 'pack.x.cjs'), "'use strict';\nmodule.exports = { 'x.cjs': 'not code', 'b.cjs': function (exports) { exports.value = () => 'pack-b'; } };\n");
      expect(viaY()).toMatchObject({ value: 'file-a/pack-b/a.cjs', stats: { packed: 1 } });
    });

    it("an entry's pack serves the chunks it requires, and node's require is kept when nothing is installed", () => {
      writeFileSync(join(bundle, 'entry.cjs'), `'use strict';\nrequire = require(${JSON.stringify(hook)}).enter(module, require);\nexports.value = () => require('./a.cjs').value();\n`);
      writeFileSync(join(bundle, 'pack.entry.cjs'), pack(member('a.cjs', aFrom('pack')), member('b.cjs', "exports.value = () => 'pack-b';")));
      const entry = (install: boolean) => nodeJson(`process.stdout.write(JSON.stringify({ value: require(${at('entry.cjs')}).value(), stats: c.stats() }));`, install);
      expect(entry(true)).toMatchObject({ value: 'pack-a/pack-b/a.cjs', stats: { packed: 2 } });
      expect(entry(false)).toMatchObject({ value: 'file-a/file-b/a.cjs', stats: { packed: 0 } });
    });
  });

  describe('uses', () => {
    // mod.cjs has a function for each use; a run of a use calls its own only.
    beforeEach(() =>
      writeFileSync(
        join(bundle, 'mod.cjs'),
        "'use strict';\nexports.forA = () => [1, 2, 3].map((n) => n * 2).join('-');\nexports.forB = () => Object.entries({ x: 1, y: 2 }).map(([k, v]) => k + '=' + v).join('&');\n",
      ),
    );
    /**
     * Runs node for `use` (none: use() not called) and calls mod.cjs's function of it; what it
     * returned and the hook's stats. The script is the same for every use (node's arguments name
     * the kept files): the use comes from the environment.
     */
    const runFor = (use: 'A' | 'B' | undefined) => {
      const script = `const c = require(${JSON.stringify(hook)}); c.install(${JSON.stringify(bundle)}); const use = process.env.TEST_USE;
        if (use) globalThis[Symbol.for('stack.code-cache')].use(use.toLowerCase());
        const value = require(${JSON.stringify(join(bundle, 'mod.cjs'))})[use === 'B' ? 'forB' : 'forA'](); process.stdout.write(JSON.stringify({ value, stats: c.stats() }));`;
      return JSON.parse(execFileSync(process.execPath, ['-e', script], { env: { ...process.env, STACK_CACHE: cache, TEST_USE: use ?? '' }, encoding: 'utf8' }));
    };
    /** mod.cjs's kept file: the uses on its first line, its size and identity. */
    const keptMod = () => {
      const name = readdirSync(join(cache, 'code')).find((n) => n.includes('-mod.cjs.'))!;
      const path = join(cache, 'code', name);
      const text = readFileSync(path, 'latin1');
      const { size, ino, mtimeMs } = statSync(path);
      return { uses: text.startsWith('stack-code ') ? text.slice('stack-code '.length, text.indexOf('\n')).trimEnd() : undefined, size, id: `${ino}-${mtimeMs}` };
    };

    it("a module kept by one use's runs is kept again, once, by a run of another, with the code both ran", () => {
      // What B's run alone keeps, in a cache of its own.
      expect(runFor('B').stats.cached).toBe(0);
      const onlyB = keptMod();
      rmSync(cache, { recursive: true, force: true });
      expect(runFor('A')).toEqual({ value: '2-4-6', stats: { compiled: 1, cached: 0, rejected: 0, packed: 0 } });
      const first = keptMod();
      expect(first.uses).toBe('a');
      // B's run compiles from A's code, and keeps it again with forB's code besides: more than
      // either run alone kept.
      expect(runFor('B')).toEqual({ value: 'x=1&y=2', stats: { compiled: 1, cached: 1, rejected: 0, packed: 0 } });
      const both = keptMod();
      expect(both.uses).toBe('a,b');
      expect(both.size).toBeGreaterThan(Math.max(first.size, onlyB.size));
      // Neither use's runs write it again.
      for (const use of ['A', 'B'] as const) expect(runFor(use).stats.cached).toBe(1);
      expect(keptMod()).toEqual(both);
    });

    it('a run of another use that fails keeps nothing again; the next that ends well does', () => {
      runFor('A');
      const first = keptMod();
      const script = `const c = require(${JSON.stringify(hook)}); c.install(${JSON.stringify(bundle)}); globalThis[Symbol.for('stack.code-cache')].use('b');
        require(${JSON.stringify(join(bundle, 'mod.cjs'))}).forB(); process.exitCode = 1;`;
      expect(() => execFileSync(process.execPath, ['-e', script], { env: { ...process.env, STACK_CACHE: cache }, stdio: 'ignore' })).toThrow();
      expect(keptMod()).toEqual(first);
      expect(runFor('B').stats.cached).toBe(1);
      expect(keptMod().uses).toBe('a,b');
    });

    it('a run that names no use keeps only what has no kept code; a file of the older layout is read, and kept again with its use', () => {
      expect(runFor(undefined).stats.cached).toBe(0);
      expect(keptMod().uses).toBe('');
      const unnamed = keptMod();
      expect(runFor(undefined).stats.cached).toBe(1);
      expect(keptMod()).toEqual(unnamed);
      // Only V8's data, as kept before uses were named: taken as code kept by no use.
      const path = join(cache, 'code', readdirSync(join(cache, 'code')).find((n) => n.includes('-mod.cjs.'))!);
      const data = readFileSync(path);
      writeFileSync(path, data.subarray(data.indexOf(10) + 1));
      expect(runFor('A').stats).toEqual({ compiled: 1, cached: 1, rejected: 0, packed: 0 });
      expect(keptMod().uses).toBe('a');
    });
  });

  it('leaves modules outside the bundle to node', () => {
    writeFileSync(join(bundle, 'mod.cjs'), source('ab'));
    const outside = join(dir, 'outside.cjs');
    writeFileSync(outside, "exports.value = () => 'out';\n");
    chmodSync(outside, 0o644);
    const script = `const c = require(${JSON.stringify(hook)}); c.install(${JSON.stringify(bundle)}); require(${JSON.stringify(outside)}); process.stdout.write(JSON.stringify(c.stats()));`;
    const out = execFileSync(process.execPath, ['-e', script], { env: { ...process.env, STACK_CACHE: cache }, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ compiled: 0, cached: 0, rejected: 0, packed: 0 });
  });
});
