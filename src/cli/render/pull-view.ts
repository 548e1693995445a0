// The pull display's model, shared by its modes: what a reporter is told, an image and its layers
// as the TTY view draws them (pure), and the words and numbers they print (docker's).
import type { LayerState, PullDone, PullProgress } from '../../image/pull.js';

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
