// The pull display fed by hand: plain mode prints exactly one line per image (pulled, up to date,
// failed) plus notes and warnings; json one object per event; quiet nothing; the TTY mode (ink on
// a fake terminal stream) leaves, once its ANSI codes are applied, exactly the final lines: each
// image's line with its layers' final lines under it, nothing half-drawn.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { LayerProgress, PullDone, PullProgress } from '../../../src/image/pull.js';
import { humanBytes, layerText, pullMode, pullReporter, reduceImage, reportedPull, shortDigest, type PullReporter } from '../../../src/cli/render/pull-progress.js';
import { UserError } from '../../../src/errors.js';

const D = (c: string) => `sha256:${c.repeat(64)}`;
const IMG = '127.0.0.1:5000/team/db:16';
const OTHER = 'example.org/web:2';

const layer = (image: string, hex: string, state: LayerProgress['state'], downloaded = 0, size = 45_600_000): LayerProgress => ({ kind: 'layer', image, digest: D(hex), chainId: D('c'), state, size, downloaded });
const done = (image: string, upToDate = false): PullDone => ({ kind: 'done', image, digest: D('a'), layers: 2, size: 45_600_024, downloaded: upToDate ? 0 : 45_600_000, downloadedLayers: upToDate ? 0 : 1, durationMs: 1234, upToDate });

/** The events of a pull of IMG: layer 1 downloads, layer 2 is in the store. */
const pullEvents = (image: string): PullProgress[] => [
  { kind: 'resolved', image, digest: D('a'), layers: 2, size: 45_600_024 },
  layer(image, '1', 'waiting'),
  layer(image, '2', 'waiting', 0, 24),
  layer(image, '1', 'downloading'),
  layer(image, '2', 'exists', 0, 24),
  layer(image, '1', 'downloading', 12_300_000),
  layer(image, '1', 'done', 45_600_000),
  done(image),
];

/** A writable that keeps what it is given, optionally looking like a sized terminal. */
function capture(tty: boolean): { out: Writable; text: () => string } {
  let text = '';
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  if (tty) Object.assign(out, { isTTY: true, columns: 120, rows: 40 });
  return { out, text: () => text };
}

/** The screen after applying `text`'s cursor movements and erasures (the few codes ink uses). */
function screen(text: string): string[] {
  const rows: string[] = [''];
  let row = 0;
  let col = 0;
  const put = (ch: string) => {
    while (rows.length <= row) rows.push('');
    const line = rows[row]!.padEnd(col);
    rows[row] = line.slice(0, col) + ch + line.slice(col + 1);
    col++;
  };
  const re = /\u001b\[([?0-9;]*)([A-Za-z])|\r|\n|[^\u001b\r\n]/gu;
  for (const m of text.matchAll(re)) {
    const s = m[0];
    if (s === '\n') {
      row++;
      col = 0;
      while (rows.length <= row) rows.push('');
    } else if (s === '\r') col = 0;
    else if (m[2] !== undefined) {
      const n = m[1] === '' ? 1 : Number(m[1]!.replace('?', ''));
      switch (m[2]) {
        case 'A':
          row = Math.max(0, row - n);
          break;
        case 'B':
          row += n;
          break;
        case 'G':
          col = n - 1;
          break;
        case 'K':
          rows[row] = m[1] === '2' ? '' : rows[row]!.slice(0, col);
          break;
        case 'J':
          rows.splice(row + 1);
          rows[row] = rows[row]!.slice(0, col);
          break;
        case 'm':
        case 'h':
        case 'l':
          break;
        default:
          throw new Error(`unexpected escape ${JSON.stringify(s)}`);
      }
    } else put(s);
  }
  return rows.map((r) => r.trimEnd());
}

const feed = (r: PullReporter, image: string, events: PullProgress[]) => events.forEach((e) => r.onProgress(image, e));

describe('pull display', () => {
  it('plain: exactly one line per image when it ends, notes and warnings as they come', async () => {
    const { out, text } = capture(false);
    const r = await pullReporter(out, 'plain');
    r.note('app: skipped, no image to pull (built from build:)');
    feed(r, IMG, pullEvents(IMG));
    expect(text()).toBe('app: skipped, no image to pull (built from build:)\n');
    r.imageDone(IMG);
    r.onProgress(OTHER, { kind: 'warning', image: OTHER, message: 'the image is linux/arm64, not linux/amd64' });
    feed(r, OTHER, [layer(OTHER, '2', 'exists', 0, 24), done(OTHER, true)]);
    r.imageDone(OTHER);
    r.imageFailed('example.org/gone:1', new UserError('IMAGE_NOT_FOUND', 'example.org/gone:1 was not found on example.org'));
    await r.close();
    expect(text().split('\n')).toEqual([
      'app: skipped, no image to pull (built from build:)',
      `${IMG}: pulled sha256:aaaaaaaaaaaa (2 layers, 45.6MB, 1.2 s)`,
      `${OTHER}: warning: the image is linux/arm64, not linux/amd64`,
      `${OTHER}: up to date`,
      'example.org/gone:1: failed: example.org/gone:1 was not found on example.org',
      '',
    ]);
  });

  it('plain: a summary passed to imageDone wins; one layer is "1 layer"', async () => {
    const { out, text } = capture(false);
    const r = await pullReporter(out, 'plain');
    r.imageDone(IMG, { ...done(IMG), layers: 1, size: 999, durationMs: 40 });
    expect(text()).toBe(`${IMG}: pulled sha256:aaaaaaaaaaaa (1 layer, 999B, 0.0 s)\n`);
  });

  it('json: one object per event, then pull-done and pull-failed', async () => {
    const { out, text } = capture(false);
    const r = await pullReporter(out, 'json');
    const events = pullEvents(IMG);
    feed(r, IMG, events);
    r.imageDone(IMG);
    r.imageFailed(OTHER, new UserError('REGISTRY_AUTH', 'refused', 'log in'));
    r.note('hello');
    const lines = text().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(events.length + 3);
    expect(lines.slice(0, events.length)).toEqual(events.map((e) => ({ type: 'pull', ...e })));
    expect(lines.at(-3)).toEqual({ type: 'pull-done', image: IMG, digest: D('a'), layers: 2, size: 45_600_024, downloaded: 45_600_000, durationMs: 1234, upToDate: false });
    expect(lines.at(-2)).toEqual({ type: 'pull-failed', image: OTHER, error: { message: 'refused', code: 'REGISTRY_AUTH', hint: 'log in' } });
    expect(lines.at(-1)).toEqual({ type: 'notice', message: 'hello' });
  });

  it('quiet prints nothing', async () => {
    const { out, text } = capture(false);
    const r = await pullReporter(out, 'quiet');
    r.note('x');
    feed(r, IMG, pullEvents(IMG));
    r.imageDone(IMG);
    r.imageFailed(IMG, new Error('x'));
    await r.close();
    expect(text()).toBe('');
  });

  it('tty: two images pulled at once end as their final lines, each layer under its image, nothing half-drawn', async () => {
    const { out, text } = capture(true);
    const r = await pullReporter(out, 'tty');
    r.note('app: skipped, no image to pull (built from build:)');
    const a = pullEvents(IMG);
    const b: PullProgress[] = [
      { kind: 'resolved', image: OTHER, digest: D('b'), layers: 1, size: 10 },
      layer(OTHER, '3', 'waiting', 0, 5_000_000),
      layer(OTHER, '3', 'downloading', 0, 5_000_000),
      layer(OTHER, '3', 'downloading', 1_000_000, 5_000_000),
    ];
    // Interleaved, with pauses so ink draws intermediate frames that must be erased.
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (a[i]) r.onProgress(IMG, a[i]!);
      if (b[i]) r.onProgress(OTHER, b[i]!);
      if (i % 3 === 2) await new Promise((res) => setTimeout(res, 120));
    }
    r.imageDone(IMG);
    await new Promise((res) => setTimeout(res, 120));
    r.imageFailed(OTHER, new UserError('BLOB_DIGEST_MISMATCH', `blob ${D('3')} of ${OTHER} arrived with digest ${D('4')}`));
    await r.close();
    const raw = text();
    // ink redraws in place except in CI (is-in-ci's rule), where it draws the last frame only.
    const set = (k: string) => k in process.env && process.env[k] !== '0' && process.env[k] !== 'false';
    const ci = set('CI') || set('CONTINUOUS_INTEGRATION');
    if (!ci) expect(raw).toContain('\u001b[1A');
    const lines = screen(raw).filter((l) => l !== '');
    expect(lines.slice(0, 4)).toEqual([
      '  app: skipped, no image to pull (built from build:)',
      `✔ ${IMG} Pulled sha256:aaaaaaaaaaaa (2 layers, 45.6MB, 1.2 s)`,
      '  ✔ 111111111111 Pull complete',
      '  ✔ 222222222222 Already exists',
    ]);
    // The failed image: its line (truncated to the terminal's width) and its layer as it stood.
    expect(lines[4]).toMatch(new RegExp(`^✘ ${OTHER.replace(/[.]/g, '\\.')} Error: blob sha256:3{12}`));
    expect(lines[4]!.length).toBeLessThanOrEqual(120);
    expect(lines[5]).toMatch(/^ {2}⠿ 333333333333 Downloading {2}1\.00MB\/5\.00MB( {2}[0-9.]+ [kMG]?B\/s)?$/);
    expect(lines).toHaveLength(6);
    // Every frame ended: the cursor is shown again.
    expect(raw.endsWith('\u001b[?25h')).toBe(true);
  });

  it('tty: a burst of byte counts redraws at most 10 times a second (plus the first frame)', async () => {
    let frames = 0;
    const out = new Writable({
      write(chunk: Buffer, _enc, cb) {
        if (chunk.toString().includes('Downloading')) frames++;
        cb();
      },
    });
    Object.assign(out, { isTTY: true, columns: 120, rows: 40 });
    const r = await pullReporter(out, 'tty');
    const started = Date.now();
    for (let i = 0; i < 200; i++) {
      r.onProgress(IMG, layer(IMG, '1', 'downloading', i * 100_000));
      await new Promise((res) => setImmediate(res));
    }
    await new Promise((res) => setTimeout(res, 150)); // the trailing frame
    const elapsed = Date.now() - started;
    await r.close();
    expect(frames).toBeGreaterThan(0);
    expect(frames).toBeLessThanOrEqual(2 + Math.floor(elapsed / 100));
  });

  it('reportedPull: passes the events through, reports done, or failed with the caller\'s wording and rethrows it', async () => {
    const { out, text } = capture(false);
    const r = await pullReporter(out, 'plain');
    const got = await reportedPull(r, IMG, async (onProgress) => {
      pullEvents(IMG).forEach(onProgress);
      return 'record';
    });
    expect(got).toBe('record');
    const err = await reportedPull(r, OTHER, async () => {
      throw new UserError('IMAGE_NOT_FOUND', `${OTHER} was not found`);
    }, (e) => new UserError((e as UserError).code, `service web: ${(e as Error).message}`)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'IMAGE_NOT_FOUND', message: `service web: ${OTHER} was not found` });
    expect(text().split('\n')).toEqual([`${IMG}: pulled sha256:aaaaaaaaaaaa (2 layers, 45.6MB, 1.2 s)`, `${OTHER}: failed: service web: ${OTHER} was not found`, '']);
  });

  it('layer lines: docker words, bytes of size and a rate while downloading', () => {
    let v = reduceImage(undefined, IMG, layer(IMG, '1', 'waiting'), 0);
    expect(layerText(v.layers[0]!)).toBe('111111111111 Waiting');
    v = reduceImage(v, IMG, layer(IMG, '1', 'downloading'), 1000);
    v = reduceImage(v, IMG, layer(IMG, '1', 'downloading', 12_300_000), 2500);
    expect(layerText(v.layers[0]!)).toBe('111111111111 Downloading  12.3MB/45.6MB  8.20 MB/s');
    v = reduceImage(v, IMG, layer(IMG, '1', 'retrying', 0), 3000);
    expect(layerText(v.layers[0]!)).toBe('111111111111 Retrying  0B/45.6MB');
    v = reduceImage(v, IMG, layer(IMG, '1', 'done', 45_600_000), 4000);
    expect(layerText(v.layers[0]!)).toBe('111111111111 Pull complete');
    expect(layerText(reduceImage(undefined, IMG, layer(IMG, '2', 'exists'), 0).layers[0]!)).toBe('222222222222 Already exists');
    expect([humanBytes(0), humanBytes(999), humanBytes(1000), humanBytes(45_600_000), humanBytes(1.5e9)]).toEqual(['0B', '999B', '1.00kB', '45.6MB', '1.50GB']);
    expect(shortDigest(D('f'))).toBe('sha256:ffffffffffff');
  });

  it('auto is tty only on a sized terminal outside CI', () => {
    const tty = capture(true).out;
    const pipe = capture(false).out;
    expect(pullMode('auto', tty, {})).toBe('tty');
    expect(pullMode('auto', tty, { CI: 'true' })).toBe('plain');
    expect(pullMode('auto', pipe, {})).toBe('plain');
    expect(pullMode('json', tty, {})).toBe('json');
    expect(pullMode('tty', pipe, { CI: '1' })).toBe('tty');
  });
});
