// Bundles the CLI and the processes it spawns (the supervisor, the one-off reaper) into
// dist/bundle/ with esbuild, so a command loads a few files instead of hundreds of modules:
// cli.mjs, supervisor.mjs, oneoff-reaper.mjs and the chunks they share. Dynamic imports stay
// chunks of their own (splitting), so a command still loads only what it needs (`ps` never
// loads yaml, zod, ink or koffi). koffi (a native addon) is not bundled: it is loaded at run
// time with createRequire. Run after tsc (`npm run build`); bin/stack.cjs uses the bundle when
// it is there, else dist/cli/main.js.
//
// Paths a module derives from its own URL (native/build/launcher, package.json, the supervisor's
// entry) are written for its place in tsc's dist/ (dist/runtime/launch.js → ../../native/...).
// In a chunk every `import.meta.url` of a src/ file is replaced by the URL that file has in
// dist/, computed from the chunk's own URL, so those paths resolve as they do unbundled.
import { build } from 'esbuild';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
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

const result = await build({
  absWorkingDir: root,
  entryPoints: {
    cli: 'src/cli/main.ts',
    supervisor: 'src/supervisor/main.ts',
    'oneoff-reaper': 'src/cli/commands/oneoff-reaper.ts',
  },
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
  // CommonJS dependencies bundled into ES modules still call require() for node's modules.
  banner: { js: "import { createRequire as __stackRequire } from 'node:module'; const require = __stackRequire(import.meta.url);" },
  plugins: [distUrls, zodEnglishOnly],
  logLevel: 'warning',
  metafile: process.argv.includes('--meta'),
  write: false,
});

// Written in place, file by file with a rename, chunks before the entries that import them, and
// chunks of earlier builds kept an hour: a stack command running while the bundle is rebuilt
// (another checkout's build, a long `stack up`) still finds every chunk it imports later.
await mkdir(outdir, { recursive: true });
const entries = new Set(['cli.mjs', 'supervisor.mjs', 'oneoff-reaper.mjs'].map((f) => join(outdir, f)));
const outputs = [...result.outputFiles].sort((a, b) => Number(entries.has(a.path)) - Number(entries.has(b.path)));
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
