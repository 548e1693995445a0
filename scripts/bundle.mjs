// Bundles the CLI and the processes it spawns (the supervisor, the one-off reaper) into
// dist/bundle/ with esbuild, so a command loads a few files instead of hundreds of modules:
// cli.cjs, supervisor-main.cjs (Node runs supervisor.cjs, which loads it: SUPERVISOR_LOADER),
// oneoff-reaper.cjs and the chunks they share (CommonJS: asCommonJs), and for each entry and each
// chunk a dynamic import loads, a pack of the chunks it loads with it (packs(), run by
// src/code-cache.cjs).
// Dynamic imports stay chunks of their own (splitting), so a command still loads only what it
// needs (`ps` never loads yaml, zod, ink or koffi). koffi (a native addon) is not bundled: it is loaded at run
// time with createRequire. Run after tsc (`npm run build`); bin/stack.cjs uses the bundle when
// it is there, else dist/cli/main.js.
//
// Paths a module derives from its own URL (native/build/launcher, package.json, the supervisor's
// entry) are written for its place in tsc's dist/ (dist/runtime/launch.js → ../../native/...).
// In a chunk every `import.meta.url` of a src/ file is replaced by the URL that file has in
// dist/, computed from the chunk's own URL, so those paths resolve as they do unbundled.
import { build, transform, version as esbuildVersion } from 'esbuild';
import { createHash } from 'node:crypto';
import { isBuiltin } from 'node:module';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const outdir = join(root, 'dist', 'bundle');

/** Rewrites `import.meta.url` in src/*.ts to the URL of the same module in tsc's dist/. */
const distUrls = {
  name: 'dist-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      const contents = await readFile(args.path, 'utf8');
      if (!args.path.startsWith(src + '/') || !contents.includes('import.meta.url')) return undefined;
      const asBuilt = join(root, 'dist', relative(src, args.path)).replace(/\.ts$/, '.js');
      const fromChunk = relative(outdir, asBuilt);
      const url = `new URL(${JSON.stringify(fromChunk)}, import.meta.url).href`;
      return { contents: contents.replaceAll('import.meta.url', url), loader: 'ts' };
    });
  },
};

/**
 * zod's entry re-exports every locale (`z.locales`, 65 languages, ~300 KB of the ~750 KB zod
 * chunk) that stack never uses: its messages are English (zod's default, set by its own
 * classic/schemas.js from locales/en.js). The locales index is replaced by English alone, so a
 * command that validates a spec compiles ~40 % less of zod.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, (args) => ({
      contents: 'export { default as en } from "./en.js";\n',
      loader: 'js',
      resolveDir: dirname(args.path),
    }));
  },
};

/**
 * CommonJS dependencies bundled into ES modules still call require() for node's modules. Its
 * comment names this script, src/code-cache.cjs and esbuild's version: esbuild hashes a chunk's
 * name from its ES module text, and this script turns that into what runs (CommonJS, packs), so a
 * change to either makes every chunk a new name and a command still running from an older build
 * never meets a chunk of the same name with other code (the comment itself is dropped below).
 */
const toolsDigest = createHash('sha256')
  .update(await readFile(fileURLToPath(import.meta.url)))
  .update(await readFile(join(src, 'code-cache.cjs')))
  .update(esbuildVersion)
  .digest('hex')
  .slice(0, 16);
const BANNER = `/* stack bundle ${toolsDigest} */ import { createRequire as __stackRequire } from 'node:module'; const require = __stackRequire(import.meta.url);`;

/** The bundle's programs: the CLI and the processes it spawns (each becomes <name>.cjs). */
const ENTRY_POINTS = {
  cli: 'src/cli/main.ts',
  'supervisor-main': 'src/supervisor/main.ts',
  'oneoff-reaper': 'src/cli/commands/oneoff-reaper.ts',
};

/**
 * supervisor.cjs, the file a supervisor's Node runs (supervisor/control.ts supervisorEntry, and
 * what executor/supervisor-procs.ts finds in a command line): V8's code cache installed before
 * the supervisor's own code loads, as bin/stack.cjs does for cli.cjs. Run as Node's main module,
 * the entry itself was compiled by Node from its source at every start, the supervisor's loop
 * (supervisor.ts, in the entry: 62 KB) with it, its functions as they were first called: the
 * supervisor's CPU by 0.9 s after an `up -d` of 20, 135.2 ms against 132.8 with this loader (12
 * rounds alternating; 136.9 against 130.5 in an earlier 8), on the second core while the next
 * command ran.
 */
const SUPERVISOR_LOADER = `'use strict';
// Written by scripts/bundle.mjs: the code cache first (code-cache.cjs), then the supervisor.
require('./code-cache.cjs').install(__dirname);
require('./supervisor-main.cjs');
`;

const result = await build({
  absWorkingDir: root,
  entryPoints: ENTRY_POINTS,
  outdir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // koffi is a native addon; react-devtools-core is ink's optional development hook.
  external: ['koffi', 'react-devtools-core'],
  define: { STACK_BUNDLED: 'true' },
  banner: { js: BANNER },
  plugins: [distUrls, zodEnglishOnly],
  logLevel: 'warning',
  metafile: true,
  write: false,
});

/**
 * The chunks as CommonJS (.cjs), but for those that cannot be: a chunk with a top-level await
 * (ink's, which awaits its layout engine's WebAssembly) and every chunk that imports one stays an
 * ES module (.mjs). Node's ES module loader costs ~0.5 ms a module, its CommonJS loader ~0.15
 * (35 modules on this 2-core kind: 17 vs 6 ms over one), and starts ~8 ms faster (bin/stack.cjs
 * never starts it): `ps` 157 vs 172 ms, a no-op `up` 195-199 vs 218, `down` 354-361 vs 382-385.
 * esbuild splits only ES modules, so the split output is turned into CommonJS file by file: the
 * imports of chunks name their .cjs, a chunk's dynamic import of a chunk becomes a require (an
 * ES module's stays an import(), which Node runs), `import.meta.url` is the file's URL. An ES
 * module imports a CommonJS chunk by name: esbuild annotates the names it exports
 * (`0 && (module.exports = {…})`) for Node's CommonJS export detection.
 */
async function asCommonJs(files, imports, entryNames, inputs) {
  const names = new Map(files.map((f) => [f.path, f.path.slice(outdir.length + 1).replace(/\.mjs$/, '')]));
  const transformed = new Map();
  const esm = new Set();
  // A chunk of generated code alone (src/spec/accepts.generated.ts: ajv's one line of ~200 KB)
  // keeps it on few lines: printed out, it was three times the size, and V8 reads every byte.
  const generated = (f) => {
    const from = inputs.get(f.path) ?? [];
    return from.length > 0 && from.every((i) => i.endsWith('.generated.ts'));
  };
  const toCjs = (f, specifier) =>
    transform(specifier(f.text).replace(BANNER, '').replaceAll('import.meta.url', '__stackUrl'), {
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      supported: { 'dynamic-import': false },
      sourcefile: names.get(f.path) + '.js',
      logLevel: 'silent',
      minifyWhitespace: generated(f),
    });
  // A first pass finds the chunks that cannot be CommonJS (a top-level await)…
  for (const f of files) {
    try {
      await toCjs(f, (t) => t);
    } catch (error) {
      if (!/top-level await/i.test(String(error))) throw error;
      esm.add(f.path);
    }
  }
  // A chunk importing a package left out of the bundle stays one as well: ink's devtools hook
  // (loaded with DEV=true) imports react-devtools-core, which ink expects to fail as an ES
  // import does (ERR_MODULE_NOT_FOUND, caught), not as a require (MODULE_NOT_FOUND, rethrown).
  for (const f of files) {
    if ((imports.get(f.path) ?? []).some((i) => i.external && i.kind === 'import-statement' && !isBuiltin(i.path))) esm.add(f.path);
  }
  // …and every chunk importing one (statically: it waits for it) stays an ES module too.
  for (let grew = true; grew; ) {
    grew = false;
    for (const f of files) {
      if (esm.has(f.path)) continue;
      if ((imports.get(f.path) ?? []).some((i) => i.kind === 'import-statement' && esm.has(i.path))) (esm.add(f.path), (grew = true));
    }
  }
  const byName = new Map(files.map((f) => [names.get(f.path), f.path]));
  const ext = (path) => (esm.has(path) ? '.mjs' : '.cjs');
  /** The file's chunk names rewritten to what each chunk now is; in a CommonJS file an import() of an ES module kept as one. */
  const specifiers = (fromCjs) => (text) =>
    text.replace(/(import\()?(["'])\.\/([\w.-]+)\.mjs\2/g, (all, call, q, name) => {
      const path = byName.get(name);
      if (path === undefined) return all;
      if (call && fromCjs && esm.has(path)) return `__stackImport(${q}./${name}.mjs${q}`;
      return `${call ?? ''}${q}./${name}${ext(path)}${q}`;
    });
  for (const f of files) {
    if (esm.has(f.path)) {
      transformed.set(f.path, { path: f.path, contents: Buffer.from(specifiers(false)(f.text)) });
      continue;
    }
    const { code } = await toCjs(f, specifiers(true));
    // An ES module's code is strict: so is its CommonJS form (a write to a frozen object throws).
    const preamble =
      "'use strict';\n" +
      (entryNames.has(names.get(f.path)) ? 'require("./code-cache.cjs").install(__dirname);\nrequire = require("./code-cache.cjs").enter(module, require);\n' : '') +
      (code.includes('__stackUrl') ? 'var __stackUrl = require("node:url").pathToFileURL(__filename).href;\n' : '') +
      (code.includes('__stackImport(') ? 'var __stackImport = (p) => import(require("node:url").pathToFileURL(require("node:path").join(__dirname, p)).href);\n' : '');
    transformed.set(f.path, { path: f.path.replace(/\.mjs$/, '.cjs'), contents: Buffer.from(preamble + code) });
  }
  return [...transformed.values()];
}

/**
 * The file with every non-ASCII character of its comments written as an escape. One such
 * character (an em dash in a comment of zod's) makes V8 hold the whole source as two bytes a
 * character: Node read the 393 KB zod chunk in 3.7 ms, 1.7 once ASCII (a cold `stack config`:
 * 193 vs 199 ms, 21 alternating runs). esbuild already escapes strings and untagged templates;
 * what it leaves is comments, regular expressions and tagged templates (String.raw), where an
 * escape would change the program. So the escaped file is kept only when it minifies to the same
 * code as the original (only comments changed); else the file stays as it is, with a warning.
 */
async function asciiOnly(file) {
  const text = Buffer.from(file.contents).toString('utf8');
  if (!/[^\x00-\x7f]/.test(text)) return file.contents;
  const escaped = text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const minified = async (code) => (await transform(code, { loader: 'js', minify: true, format: file.path.endsWith('.mjs') ? 'esm' : 'cjs', logLevel: 'silent' })).code;
  if ((await minified(text)) === (await minified(escaped))) return Buffer.from(escaped);
  console.warn(`bundle: ${basename(file.path)} keeps non-ASCII code (a regular expression or a tagged template): Node reads it as two bytes a character`);
  return file.contents;
}

/**
 * The packs (`pack.<chunk>.cjs`, read by src/code-cache.cjs): for an entry and for every chunk a
 * dynamic import loads (a command, the executor's kernel side, ...), one file holding the code of
 * that chunk and of every CommonJS chunk it loads with it, each as the function Node would wrap
 * it in, so a command reads and compiles a few files instead of 40-90 (~0.19 ms each besides
 * their code). Left out of a chunk's pack: what each chunk that imports it has loaded already
 * (its static imports), and an entry itself (Node has read it). The chunks stay files too:
 * for Node when the code cache is off, for an ES module that imports one, and for a pack that
 * cannot be read.
 */
/**
 * The function Node wraps a CommonJS module's code in (Module.wrapper), around each pack's code
 * in its file: src/code-cache.cjs then compiles the file's text as it was read, where the text
 * Node's wrapper makes around it is a string V8 copies whole before compiling it (~95 page faults
 * in an `up -d`).
 */
const WRAPPER = ['(function (exports, require, module, __filename, __dirname) { ', '\n});'];
/** What begins the comment that lists a pack's members (src/code-cache.cjs packMembers). */
const PACK_HEADER = 'stack-pack ';

function packs(files, imports, entries) {
  const final = new Map(files.map((f) => [f.path, f]));
  /** A chunk's path as written: its .cjs form, unless it stayed an ES module. */
  const as = (path) => {
    const cjs = path.replace(/\.mjs$/, '.cjs');
    return final.has(cjs) ? cjs : path;
  };
  const staticOf = new Map();
  const dynamicOf = new Map();
  for (const [path, list] of imports) {
    const internal = list.filter((i) => !i.external);
    staticOf.set(as(path), internal.filter((i) => i.kind !== 'dynamic-import').map((i) => as(i.path)));
    dynamicOf.set(as(path), internal.filter((i) => i.kind === 'dynamic-import').map((i) => as(i.path)));
  }
  const closure = (root) => {
    const seen = new Set([root]);
    for (const path of seen) for (const next of staticOf.get(path) ?? []) seen.add(next);
    return seen;
  };
  const roots = new Set([...entries, ...[...dynamicOf.values()].flat().filter((p) => p.endsWith('.cjs'))]);
  const out = [];
  for (const root of [...roots].sort()) {
    const importers = [...dynamicOf].filter(([, targets]) => targets.includes(root)).map(([path]) => closure(path));
    const loaded = entries.has(root) ? new Set([root]) : new Set([...(importers[0] ?? [])].filter((p) => importers.every((c) => c.has(p))));
    const members = [...closure(root)].filter((p) => p.endsWith('.cjs') && !loaded.has(p) && final.has(p)).sort();
    if (members.length === 0) continue;
    const body = members.map((p) => `${JSON.stringify(basename(p))}: function (exports, require, module, __filename, __dirname) {\n${Buffer.from(final.get(p).contents).toString('utf8')}\n},\n`);
    // Its members and their sizes on its first line (PACK_HEADER): a process that has run most of
    // them already, from other packs, reads the few it lacks from their own files instead.
    const header = `/* ${PACK_HEADER}${members.map((p) => `${basename(p)}:${final.get(p).contents.length}`).join(' ')} */\n`;
    const code = `'use strict';\nmodule.exports = {\n${body.join('')}};\n`;
    out.push({ path: join(outdir, `pack.${basename(root)}`), contents: Buffer.from(`${WRAPPER[0]}${header}${code}${WRAPPER[1]}`) });
  }
  return out;
}

// Written in place, file by file with a rename, chunks before the entries that import them, and
// chunks of earlier builds kept an hour: a stack command running while the bundle is rebuilt
// (another checkout's build, a long `stack up`) still finds every chunk it imports later.
await mkdir(outdir, { recursive: true });
const imports = new Map(Object.entries(result.metafile.outputs).map(([path, o]) => [join(root, path), o.imports.map((i) => (i.external ? i : { ...i, path: join(root, i.path) }))]));
const others = result.outputFiles.filter((f) => !f.path.endsWith('.mjs'));
if (others.length > 0) throw new Error(`bundle: esbuild wrote ${others.map((f) => f.path).join(', ')}, which the CommonJS pass does not handle`);
const inputs = new Map(Object.entries(result.metafile.outputs).map(([path, o]) => [join(root, path), Object.keys(o.inputs)]));
const files = await asCommonJs(result.outputFiles, imports, new Set(Object.keys(ENTRY_POINTS)), inputs);
// The entries' first line installs V8's code cache for the bundle (src/code-cache.cjs).
files.unshift({ path: join(outdir, 'code-cache.cjs'), contents: await readFile(join(src, 'code-cache.cjs')) });
const loader = join(outdir, 'supervisor.cjs');
files.push({ path: loader, contents: Buffer.from(SUPERVISOR_LOADER) });
const entries = new Set(Object.keys(ENTRY_POINTS).map((name) => join(outdir, `${name}.cjs`)));
for (const entry of entries) if (!files.some((f) => f.path === entry)) throw new Error(`bundle: ${entry} is not CommonJS (it imports a chunk with a top-level await)`);
for (const file of files) file.contents = await asciiOnly(file);
files.push(...packs(files, imports, entries));
// The entries after their chunks, the supervisor's loader after the entry it loads.
const order = (f) => (f.path === loader ? 2 : Number(entries.has(f.path)));
const outputs = files.sort((a, b) => order(a) - order(b));
for (const file of outputs) {
  const temp = `${file.path}.${process.pid}.tmp`;
  await writeFile(temp, file.contents);
  await rename(temp, file.path);
}
const written = new Set(outputs.map((f) => f.path));
for (const name of await readdir(outdir)) {
  const path = join(outdir, name);
  if (!written.has(path) && Date.now() - (await stat(path)).mtimeMs > 3600_000) await rm(path, { force: true });
}
// `node scripts/bundle.mjs --meta FILE`: esbuild's metafile (which chunk holds which module).
const meta = process.argv.indexOf('--meta');
if (meta >= 0) await writeFile(process.argv[meta + 1], JSON.stringify(result.metafile));
