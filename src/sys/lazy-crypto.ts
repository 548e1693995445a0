// SHA-256 with node:crypto required on first use. Its module and the ~20 of Node's it loads took
// ~5 ms of every command that imports a hashing module, where `ps` and `down` hash nothing on
// most runs (a long name's part, a supervisor socket path too long for its folder). A module of
// its own, hashing only, so the pure planner can hash without importing a way to do I/O or to
// draw random numbers (those are sys/builtin.ts's).
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
