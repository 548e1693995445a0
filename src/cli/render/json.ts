// `--progress json`: every executor event as one JSON line, as it is (events are plain data),
// and notices as `{"type":"notice","message":...}`; for scripts.
import type { Renderer } from './renderer.js';

/** Writes JSON lines to `out`. */
export function jsonRenderer(out: NodeJS.WritableStream): Renderer {
  return {
    emit: (event) => void out.write(`${JSON.stringify(event)}\n`),
    notice: (message) => void out.write(`${JSON.stringify({ type: 'notice', message })}\n`),
    close: async () => undefined,
  };
}
