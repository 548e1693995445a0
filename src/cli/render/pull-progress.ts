// Progress of image pulls, for `stack pull` and `up` (which pulls missing images before it plans):
// on a TTY one line per image with one line per layer under it, redrawn in place (ink, at most 10
// frames a second; a finished image is printed once, above the live lines); otherwise exactly one
// line per image when it ends (`<image>: pulled sha256:0123456789ab (2 layers, 45.6MB, 1.2 s)`,
// `<image>: up to date`, `<image>: failed: ...`); `json` one object per event; `quiet` nothing.
// Renderers decide nothing: the caller says when an image is done or failed.
import type { PullDone, PullProgress } from '../../image/pull.js';
import type { ProgressMode } from './renderer.js';
import { failedLine, pulledLine, type PullReporter } from './pull-view.js';

export { failedLine, humanBytes, imageLines, layerText, pulledLine, reduceImage, shortDigest, type ImageView, type LayerView, type PullReporter, type ViewLine } from './pull-view.js';

/** Modes a pull display can be opened in (`auto` resolved by pullMode). */
export type PullReporterMode = Exclude<ProgressMode, 'auto'>;

/** `auto` → `tty` on a sized terminal outside CI, `plain` otherwise; other modes as they are. */
export function pullMode(mode: ProgressMode, out: NodeJS.WritableStream, env: NodeJS.ProcessEnv = process.env): PullReporterMode {
  if (mode !== 'auto') return mode;
  const tty = (out as NodeJS.WriteStream).isTTY === true && ((out as NodeJS.WriteStream).columns ?? 0) > 0;
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== '0' && env.CI !== 'false';
  return tty && !ci ? 'tty' : 'plain';
}

/** Opens the pull display of `mode` on `out`. */
export async function pullReporter(out: NodeJS.WritableStream, mode: PullReporterMode): Promise<PullReporter> {
  if (mode === 'tty') {
    const { ttyPullReporter } = await import('./pull-progress-tty.js');
    return ttyPullReporter(out);
  }
  if (mode === 'quiet') return { onProgress: () => undefined, imageDone: () => undefined, imageFailed: () => undefined, note: () => undefined, close: async () => undefined };
  if (mode === 'json') return jsonPullReporter(out);
  return plainPullReporter(out);
}

/**
 * Runs `pull` (given the onProgress to pass to pullImage) with `image`'s progress on `reporter`;
 * reports it done, or failed with the error as `name` turns it (the caller's wording), which is
 * then thrown. For `stack pull` and `up`.
 */
export async function reportedPull<T>(
  reporter: PullReporter,
  image: string,
  pull: (onProgress: (event: PullProgress) => void) => Promise<T>,
  name: (error: unknown) => unknown = (e) => e,
): Promise<T> {
  let result: T;
  try {
    result = await pull((event) => reporter.onProgress(image, event));
  } catch (e) {
    const named = name(e);
    reporter.imageFailed(image, named instanceof Error ? named : new Error(String(named)));
    throw named;
  }
  reporter.imageDone(image);
  return result;
}

/** Plain lines: warnings and notes as they come, then one line per image when it ends. */
export function plainPullReporter(out: NodeJS.WritableStream): PullReporter {
  const last = new Map<string, PullDone>();
  return {
    onProgress(image, event) {
      if (event.kind === 'done') last.set(image, event);
      if (event.kind === 'warning') out.write(`${image}: warning: ${event.message}\n`);
    },
    imageDone: (image, summary) => void out.write(`${pulledLine(image, summary ?? last.get(image))}\n`),
    imageFailed: (image, error) => void out.write(`${failedLine(image, error)}\n`),
    note: (message) => void out.write(`${message}\n`),
    close: async () => undefined,
  };
}

/** JSON lines: `{"type":"pull",image,kind,...}` per event, `pull-done`, `pull-failed`, `notice`. */
export function jsonPullReporter(out: NodeJS.WritableStream): PullReporter {
  const last = new Map<string, PullDone>();
  const line = (o: object) => void out.write(`${JSON.stringify(o)}\n`);
  return {
    onProgress(image, event) {
      if (event.kind === 'done') last.set(image, event);
      line({ type: 'pull', ...event, image });
    },
    imageDone(image, summary) {
      const s = summary ?? last.get(image);
      line({ type: 'pull-done', image, ...(s ? { digest: s.digest, layers: s.layers, size: s.size, downloaded: s.downloaded, durationMs: s.durationMs, upToDate: s.upToDate } : {}) });
    },
    imageFailed(image, error) {
      const { code, hint } = error as { code?: string; hint?: string };
      line({ type: 'pull-failed', image, error: { message: error.message, ...(code ? { code } : {}), ...(hint ? { hint } : {}) } });
    },
    note: (message) => line({ type: 'notice', message }),
    close: async () => undefined,
  };
}
