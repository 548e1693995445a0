// sha256Hex (src/sys/lazy-crypto.ts): once koffi is loaded (sys/koffi.ts offers OpenSSL's SHA256
// through it), a process hashes without loading node:crypto; the digests are node:crypto's, byte
// for byte (records keep them: a config stamp must not change with the way it was computed); an
// offered digest that gets "abc" wrong is not used. Run in fresh processes from dist/ (`npm run
// build`), whose module list says what was loaded. A digest that fails later is replaced by
// node:crypto's for that hash.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, test } from 'vitest';

const dist = resolve(__dirname, '../../../dist/sys');
const inputs = ['', 'abc', 'stack-link-group\0web', 'ünïcödé → ✓', 'x'.repeat(14_000)];
const expected = inputs.map((s) => createHash('sha256').update(s).digest('hex'));

/** Runs `setup` then hashes the inputs in a fresh node: the digests, and whether node:crypto was loaded. */
function hashIn(setup: string): { digests: string[]; crypto: boolean } {
  const url = (name: string): string => pathToFileURL(join(dist, name)).href;
  const script = `
    import { loadKoffi } from ${JSON.stringify(url('koffi.js'))};
    import { offerSha256, sha256Hex } from ${JSON.stringify(url('lazy-crypto.js'))};
    ${setup}
    const digests = ${JSON.stringify(inputs)}.map(sha256Hex);
    console.log(JSON.stringify({ digests, crypto: process.moduleLoadList.includes('NativeModule crypto') }));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as { digests: string[]; crypto: boolean };
}

test('with koffi loaded: OpenSSL\'s digest through it, node:crypto never loaded, the same digests', () => {
  expect(hashIn('loadKoffi();')).toEqual({ digests: expected, crypto: false });
});

test('without koffi: node:crypto, the same digests', () => {
  expect(hashIn('')).toEqual({ digests: expected, crypto: true });
});

test('a native digest that fails (OpenSSL\'s returns NULL: it throws) leaves that hash to node:crypto', () => {
  // Right for "abc" (the check), failing for everything after.
  const setup = `offerSha256(() => { let checked = false; return (data, out) => { if (checked) throw new Error('SHA256 failed'); checked = true; out.write('${createHash('sha256').update('abc').digest('hex')}', 'hex'); }; });`;
  expect(hashIn(setup)).toEqual({ digests: expected, crypto: true });
});

test('an offered digest that gets "abc" wrong is not used; one that throws neither', () => {
  expect(hashIn('offerSha256(() => (data, out) => out.fill(7)); loadKoffi();')).toEqual({ digests: expected, crypto: true });
  expect(hashIn('offerSha256(() => { throw new Error("no such symbol"); });')).toEqual({ digests: expected, crypto: true });
});
