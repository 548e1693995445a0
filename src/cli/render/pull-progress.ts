// Progress of image pulls, for `stack pull` and `up` (which pulls missing images before it plans):
// on a TTY one line per image with one line per layer under it, redrawn in place (ink, at most 10
// frames a second; a finished image is printed once, above the live lines); otherwise exactly one
// line per image when it ends (`<image>: pulled sha256:0123456789ab (2 layers, 45.6MB, 1.2 s)`,
// `<image>: up to date`, `<image>: failed: ...`); `json` one object per event; `quiet` nothing.
// Renderers decide nothing: the caller says when an image is done or failed.
import type { LayerState, PullDone, PullProgress } from '../../image/pull.js';
import type { ProgressMode } from './renderer.js';

/** What the pull display is told, image by image (`image` is the reference as the user wrote it). */
export interface PullReporter {
  /** A step of `image`'s pull (pass pullImage's onProgress events through). */
  onProgress(image: string, event: PullProgress): void;
  /** `image` is in the store; `summary` defaults to the last `done` event seen for it. */
  imageDone(image: string, summary?: PullDone): void;
  /** `image` could not be pulled. */
  imageFailed(image: string, error: Error): void;
  /** A line that is no image's progress (a skipped service); printed above the live lines. */
  note(message: string): void;
  /** Draws the final state once and stops drawing (the screen is left clean); idempotent. */
  close(): Promise<void>;
}

/** Modes a pull display can be opened in (`auto` resolved by pullMode). */
export type PullReporterMode = Exclude<ProgressMode, 'auto'>;

/** `auto` → `tty` on a sized terminal outside CI, `plain` otherwise; other modes as they are. */
export function pullMode(mode: ProgressMode, out: NodeJS.WritableStream, env: NodeJS.ProcessEnv = process.env): PullReporterMode {
  if (mode !== 'auto') return mode;
  const tty = (out as NodeJS.WriteStream).isTTY === true && ((out as NodeJS.WriteStream).columns ?? 0) > 0;
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== '0' && env.CI !== 'false';
  return tty && !ci ? 'tty' : 'plain';
}

/** Bytes as docker shows them: 1000-based, three significant digits (`24B`, `12.3MB`). */
export function humanBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let n = Math.max(0, bytes);
  let i = 0;
  while (n >= 999.5 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return i === 0 ? `${Math.round(n)}B` : `${n.toPrecision(3)}${units[i]}`;
}

/** `sha256:0123456789ab`: a digest cut to 12 hex digits. */
export function shortDigest(digest: string): string {
  const colon = digest.indexOf(':');
  return `${digest.slice(0, colon + 1)}${digest.slice(colon + 1, colon + 13)}`;
}

/** Seconds for humans, one decimal: `1.2 s`. */
function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** The one line a finished image prints in plain mode. */
export function pulledLine(image: string, summary: PullDone | undefined): string {
  if (!summary) return `${image}: pulled`;
  if (summary.upToDate) return `${image}: up to date`;
  const layers = `${summary.layers} layer${summary.layers === 1 ? '' : 's'}`;
  return `${image}: pulled ${shortDigest(summary.digest)} (${layers}, ${humanBytes(summary.size)}, ${seconds(summary.durationMs)})`;
}

/** The one line a failed image prints in plain mode. */
export function failedLine(image: string, error: Error): string {
  return `${image}: failed: ${error.message}`;
}

/** One layer as the TTY view shows it. */
export interface LayerView {
  readonly digest: string;
  readonly state: LayerState;
  readonly size: number;
  readonly downloaded: number;
  /** When the current download attempt started (for the rate). */
  readonly startedAt: number;
  readonly at: number;
}

/** One image as the TTY view shows it. */
export interface ImageView {
  readonly image: string;
  readonly state: 'pulling' | 'done' | 'failed';
  readonly layers: readonly LayerView[];
  readonly summary?: PullDone;
  readonly error?: string;
}

/** The image view after `event` at time `now` (pure). */
export function reduceImage(view: ImageView | undefined, image: string, event: PullProgress, now: number): ImageView {
  const cur: ImageView = view ?? { image, state: 'pulling', layers: [] };
  switch (event.kind) {
    case 'resolved':
    case 'warning':
      return cur;
    case 'done':
      return { ...cur, summary: event };
    case 'layer': {
      const old = cur.layers.find((l) => l.digest === event.digest);
      const restarted = !old || (event.state !== old.state && (event.state === 'downloading' || event.state === 'retrying'));
      const next: LayerView = {
        digest: event.digest,
        state: event.state,
        size: event.size,
        downloaded: event.downloaded,
        startedAt: restarted ? now : old.startedAt,
        at: now,
      };
      const layers = old ? cur.layers.map((l) => (l === old ? next : l)) : [...cur.layers, next];
      return { ...cur, layers };
    }
  }
}

const LAYER_WORDS: Record<LayerState, string> = {
  waiting: 'Waiting',
  exists: 'Already exists',
  downloading: 'Downloading',
  retrying: 'Retrying',
  done: 'Pull complete',
};

/** One drawn line: a mark (coloured by the view) and its text. */
export interface ViewLine {
  readonly mark: string;
  readonly colour: 'green' | 'red' | 'cyan' | 'gray';
  readonly text: string;
  readonly indent: boolean;
}

/** The layer's line text: `0123456789ab Downloading  12.3MB/45.6MB  8.1 MB/s`. */
export function layerText(layer: LayerView): string {
  const id = layer.digest.slice(layer.digest.indexOf(':') + 1, layer.digest.indexOf(':') + 13);
  const words = LAYER_WORDS[layer.state];
  if (layer.state !== 'downloading' && layer.state !== 'retrying') return `${id} ${words}`;
  const elapsed = (layer.at - layer.startedAt) / 1000;
  const rate = elapsed > 0 ? `  ${humanBytes(layer.downloaded / elapsed).replace(/([0-9.])([kMGT]?B)$/, '$1 $2')}/s` : '';
  return `${id} ${words}  ${humanBytes(layer.downloaded)}/${humanBytes(layer.size)}${rate}`;
}

/** The lines of an image: its own, then one per layer. */
export function imageLines(view: ImageView): ViewLine[] {
  let head: ViewLine;
  if (view.state === 'failed') head = { mark: '✘', colour: 'red', text: `${view.image} Error: ${view.error ?? 'failed'}`, indent: false };
  else if (view.state === 'done') {
    const s = view.summary;
    const text = !s ? `${view.image} Pulled` : s.upToDate ? `${view.image} Up to date` : `${view.image} Pulled ${shortDigest(s.digest)} (${s.layers} layer${s.layers === 1 ? '' : 's'}, ${humanBytes(s.size)}, ${seconds(s.durationMs)})`;
    head = { mark: '✔', colour: 'green', text, indent: false };
  } else head = { mark: '⠿', colour: 'cyan', text: `${view.image} Pulling`, indent: false };
  const layers = view.layers.map((l): ViewLine => {
    const final = l.state === 'done' || l.state === 'exists';
    return { mark: final ? '✔' : '⠿', colour: final ? 'green' : 'gray', text: layerText(l), indent: true };
  });
  return [head, ...layers];
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
