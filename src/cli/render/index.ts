// Picks the progress renderer: the ink view only when the stream is a TTY (and only then is
// ink loaded), plain lines otherwise, JSON lines on request.
import { UserError } from '../../errors.js';
import { jsonRenderer } from './json.js';
import { plainRenderer } from './plain.js';
import type { ProgressMode, Renderer } from './renderer.js';

export { type ProgressMode, type Renderer } from './renderer.js';

/** Checks a `--progress` value. */
export function progressMode(value: string | undefined): ProgressMode {
  const mode = value ?? 'auto';
  if (mode === 'auto' || mode === 'tty' || mode === 'plain' || mode === 'json' || mode === 'quiet') return mode;
  throw new UserError('CLI_BAD_ARGUMENTS', `unknown --progress ${mode}`, 'use auto, tty, plain, json or quiet');
}

/** The renderer for `mode` writing to `out`. */
export async function openRenderer(mode: ProgressMode, out: NodeJS.WritableStream): Promise<Renderer> {
  if (mode === 'json') return jsonRenderer(out);
  if (mode === 'quiet') return { emit: () => undefined, notice: () => undefined, close: async () => undefined };
  // A TTY that reports no width (a pty nobody sized) would get one character per line: plain.
  const tty = (out as NodeJS.WriteStream).isTTY === true && ((out as NodeJS.WriteStream).columns ?? 0) > 0;
  if (mode === 'tty' || (mode === 'auto' && tty)) {
    const { ttyRenderer } = await import('./tty.js');
    return ttyRenderer(out);
  }
  return plainRenderer(out);
}

/** Runs `work` with a renderer of `mode` open on `out`, closed whatever happens. */
export async function withRenderer<T>(mode: ProgressMode, out: NodeJS.WritableStream, work: (renderer: Renderer) => Promise<T>): Promise<T> {
  const renderer = await openRenderer(mode, out);
  try {
    return await work(renderer);
  } finally {
    await renderer.close();
  }
}
