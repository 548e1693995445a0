// The TTY pull display (loaded only on a terminal, as ink is): the images being pulled, each with
// its layers, redrawn in place at most 10 times a second; an image that ends, and each note, is
// moved above them and printed once (ink's Static), so the screen keeps only final lines.
import { createElement as h, useEffect, useState, type ReactElement } from 'react';
import { Box, render, Static, Text } from 'ink';
import type { PullDone } from '../../image/pull.js';
import { imageLines, reduceImage, type ImageView, type PullReporter, type ViewLine } from './pull-view.js';

/** The shortest time between two frames of the live lines (10 a second). */
const FRAME_MS = 100;

/** Something printed once above the live lines: a finished image's lines or a note. */
interface Printed {
  readonly key: string;
  readonly lines: readonly ViewLine[];
}

interface Snapshot {
  readonly printed: readonly Printed[];
  readonly live: readonly ImageView[];
}

interface Feed {
  subscribe(listener: (s: Snapshot) => void): () => void;
}

function Line({ line }: { line: ViewLine }): ReactElement {
  return h(Text, { wrap: 'truncate-end' }, line.indent ? '  ' : '', h(Text, { color: line.colour }, line.mark), ' ', line.text);
}

function Block({ lines }: { lines: readonly ViewLine[] }): ReactElement {
  return h(Box, { flexDirection: 'column' }, ...lines.map((line, i) => h(Line, { key: i, line })));
}

function View({ feed }: { feed: Feed }): ReactElement {
  const [snap, setSnap] = useState<Snapshot>({ printed: [], live: [] });
  useEffect(() => feed.subscribe(setSnap), [feed]);
  return h(
    Box,
    { flexDirection: 'column' },
    h(Static, { items: [...snap.printed], children: (p: unknown) => h(Block, { key: (p as Printed).key, lines: (p as Printed).lines }) }),
    ...snap.live.map((v) => h(Block, { key: v.image, lines: imageLines(v) })),
  );
}

/** Draws pulls on `out` (a TTY). */
export function ttyPullReporter(out: NodeJS.WritableStream): PullReporter {
  const live = new Map<string, ImageView>();
  const printed: Printed[] = [];
  let serial = 0;
  const listeners = new Set<(s: Snapshot) => void>();
  let timer: NodeJS.Timeout | undefined;
  let lastPublish = 0;
  const publish = (): void => {
    clearTimeout(timer);
    timer = undefined;
    lastPublish = Date.now();
    const snap: Snapshot = { printed: [...printed], live: [...live.values()] };
    listeners.forEach((l) => l(snap));
  };
  // Byte counts redraw at most every FRAME_MS (each commit of the view is a frame: ink's own
  // throttle does not hold with Static in the tree); finished images and notes draw at once.
  const schedule = (): void => {
    if (timer) return;
    const wait = lastPublish + FRAME_MS - Date.now();
    if (wait <= 0) publish();
    else timer = setTimeout(publish, wait);
  };
  const feed: Feed = {
    subscribe(listener) {
      listeners.add(listener);
      listener({ printed: [...printed], live: [...live.values()] });
      return () => listeners.delete(listener);
    },
  };
  const app = render(h(View, { feed }), { stdout: out as NodeJS.WriteStream, patchConsole: false, exitOnCtrlC: false, maxFps: 10 });
  const finish = (image: string, change: Partial<ImageView>): void => {
    const view: ImageView = { ...(live.get(image) ?? { image, state: 'pulling', layers: [] }), ...change };
    live.delete(image);
    printed.push({ key: `i${serial++}`, lines: imageLines(view) });
    publish();
  };
  let closed = false;
  return {
    onProgress(image, event) {
      if (closed) return;
      if (event.kind === 'warning') {
        printed.push({ key: `w${serial++}`, lines: [{ mark: '!', colour: 'red', text: `${image}: warning: ${event.message}`, indent: false }] });
        publish();
        return;
      }
      live.set(image, reduceImage(live.get(image), image, event, Date.now()));
      schedule();
    },
    imageDone(image, summary?: PullDone) {
      if (closed) return;
      const s = summary ?? live.get(image)?.summary;
      finish(image, { state: 'done', ...(s ? { summary: s } : {}) });
    },
    imageFailed(image, error) {
      if (closed) return;
      finish(image, { state: 'failed', error: error.message });
    },
    note(message) {
      if (closed) return;
      printed.push({ key: `n${serial++}`, lines: [{ mark: ' ', colour: 'gray', text: message, indent: false }] });
      publish();
    },
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      // Images never ended (the caller gave up): printed as they stand.
      for (const image of [...live.keys()]) finish(image, {});
      await new Promise((resolve) => setTimeout(resolve, 20)); // let the last frame draw
      app.unmount();
      await app.waitUntilExit().catch(() => undefined);
    },
  };
}
