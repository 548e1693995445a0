// The TTY view: one row per operation, a spinner while it runs, a mark and its duration when it
// ends, notices above. Built with ink; this module is loaded only when the output is a TTY.
import { createElement as h, useEffect, useState, type ReactElement } from 'react';
import { Box, render, Static, Text } from 'ink';
import Spinner from 'ink-spinner';
import type { StackEvent } from '../../executor/events.js';
import { duration, planLabels, resourceLabel, VERBS, type Renderer } from './renderer.js';

interface Row {
  readonly id: string;
  readonly label: string;
  readonly kind: string;
  readonly state: 'pending' | 'running' | 'done' | 'failed' | 'skipped';
  readonly detail: string;
}

/** The rows after `event` (pure: the view only draws them). */
export function reduceRows(rows: readonly Row[], event: StackEvent): Row[] {
  const set = (id: string, change: Partial<Row>): Row[] => rows.map((r) => (r.id === id ? { ...r, ...change } : r));
  switch (event.type) {
    case 'plan-started': {
      const labels = planLabels(event.operations);
      return event.operations.map((op) => ({ id: op.id, label: resourceLabel(op.resource, labels), kind: op.kind, state: 'pending', detail: op.cause }));
    }
    case 'operation-started':
      return set(event.id, { state: 'running' });
    case 'operation-done':
      return set(event.id, { state: 'done', detail: duration(event.durationMs) });
    case 'operation-failed':
      return set(event.id, { state: 'failed', detail: event.error.message });
    case 'operation-skipped':
      return set(event.id, { state: 'skipped', detail: event.blockedBy === 'cancelled' ? 'cancelled' : `${event.blockedBy} failed` });
    case 'plan-done':
      return [...rows];
  }
}

const MARK: Record<Row['state'], [string, string]> = {
  pending: ['·', 'gray'],
  running: ['', 'cyan'],
  done: ['✔', 'green'],
  failed: ['✘', 'red'],
  skipped: ['-', 'yellow'],
};

function RowView({ row }: { row: Row }): ReactElement {
  const [mark, colour] = MARK[row.state];
  const verb = VERBS[row.kind]?.[row.state === 'done' ? 1 : 0] ?? row.kind;
  return h(
    Box,
    { gap: 1 },
    row.state === 'running' ? h(Text, { color: colour }, h(Spinner, { type: 'dots' })) : h(Text, { color: colour }, mark),
    h(Text, { bold: row.state === 'running' }, `${row.label}`),
    h(Text, { dimColor: true }, `${verb} — ${row.detail}`),
  );
}

interface Feed {
  subscribe(listener: (rows: Row[], notices: string[]) => void): () => void;
}

function View({ feed }: { feed: Feed }): ReactElement {
  const [state, setState] = useState<{ rows: Row[]; notices: string[] }>({ rows: [], notices: [] });
  useEffect(() => feed.subscribe((rows, notices) => setState({ rows, notices })), [feed]);
  return h(
    Box,
    { flexDirection: 'column' },
    h(Static, { items: state.notices, children: (n: unknown, i: number) => h(Text, { key: i }, String(n)) }),
    ...state.rows.map((row) => h(RowView, { key: row.id, row })),
  );
}

/** Draws the operations of a plan on `out` (a TTY). */
export function ttyRenderer(out: NodeJS.WritableStream): Renderer {
  let rows: Row[] = [];
  const notices: string[] = [];
  const listeners = new Set<(rows: Row[], notices: string[]) => void>();
  const publish = (): void => listeners.forEach((l) => l(rows, [...notices]));
  const feed: Feed = {
    subscribe(listener) {
      listeners.add(listener);
      listener(rows, [...notices]);
      return () => listeners.delete(listener);
    },
  };
  const app = render(h(View, { feed }), { stdout: out as NodeJS.WriteStream, patchConsole: false, exitOnCtrlC: false });
  let closed = false;
  return {
    emit(event) {
      rows = reduceRows(rows, event);
      publish();
    },
    notice(message) {
      notices.push(message);
      publish();
    },
    async close() {
      if (closed) return;
      closed = true;
      await new Promise((resolve) => setTimeout(resolve, 20)); // let the last frame draw
      app.unmount();
      await app.waitUntilExit().catch(() => undefined);
    },
  };
}
