// node:crypto, required on first use. Its module and the ~20 of Node's it loads took ~5 ms of
// every command that imports a hashing module, where `ps` hashes nothing on most runs (a long
// name's part, an abstract socket's key), and `down` nothing at all. A module of its own, apart
// from builtin.ts's child_process, so the pure planner can hash without importing a way to do I/O.
import { createRequire } from 'node:module';

let load: NodeJS.Require | undefined;

function crypto(): typeof import('node:crypto') {
  load ??= createRequire(import.meta.url);
  return load('node:crypto') as typeof import('node:crypto');
}

/** SHA-256 of `text` as hex. */
export function sha256Hex(text: string): string {
  return crypto().createHash('sha256').update(text).digest('hex');
}

/** `bytes` random bytes from the system's CSPRNG, as hex. */
export function randomHex(bytes: number): string {
  return crypto().randomBytes(bytes).toString('hex');
}
