// One inotify-backed watcher (chokidar) per rule path. Ignored folders are never descended
// into, so an ignored node_modules costs no inotify watch. Running out of inotify watches or
// instances is an error that names the sysctl to raise, never a silent stop.
import { relative, sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { UserError } from '../errors.js';
import type { WatchFilter } from './filter.js';

/** What happened to a path. */
export type ChangeKind = 'add' | 'change' | 'unlink' | 'addDir' | 'unlinkDir';

/** One change, relative to the watched path (`''` when the path is the file itself). */
export interface Change {
  readonly rel: string;
  readonly kind: ChangeKind;
}

/** A running watcher. */
export interface PathWatcher {
  close(): Promise<void>;
}

/** The error to show for a watcher failure; inotify limits name their sysctl. */
export function watchError(path: string, e: unknown): UserError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC') {
    return new UserError(
      'WATCH_LIMIT',
      `cannot watch ${path}: the limit of inotify watches is reached (fs.inotify.max_user_watches)`,
      'raise it: sysctl fs.inotify.max_user_watches=524288, or ignore large folders (node_modules/) in the rule or .dockerignore',
      { cause: e },
    );
  }
  if (code === 'EMFILE') {
    return new UserError(
      'WATCH_LIMIT',
      `cannot watch ${path}: the limit of inotify instances (fs.inotify.max_user_instances) or of open files is reached`,
      'raise it: sysctl fs.inotify.max_user_instances=1024 (and check `ulimit -n`)',
      { cause: e },
    );
  }
  return new UserError('WATCH_FAILED', `cannot watch ${path}: ${e instanceof Error ? e.message : String(e)}`, 'check that the folder exists and is readable', { cause: e });
}

/**
 * Watches `root` (a folder, or one file) and calls `onChange` for every change the filter lets
 * through; resolves once the initial scan is done. `onError` gets failures after that.
 */
export async function watchPath(
  root: string,
  isFile: boolean,
  filter: WatchFilter,
  onChange: (change: Change) => void,
  onError: (e: UserError) => void,
): Promise<PathWatcher> {
  const rel = (p: string): string => {
    const r = relative(root, p);
    return sep === '/' ? r : r.split(sep).join('/');
  };
  const watcher: FSWatcher = watch(root, {
    ignoreInitial: true,
    followSymlinks: false,
    // Deletions are reported as they happen: the batcher's quiet window already joins an
    // editor's delete-and-create into one batch, chokidar's 100 ms "atomic" delay would only add latency.
    atomic: false,
    ignored: isFile
      ? undefined
      : (path: string, stats?: { isDirectory(): boolean; isFile(): boolean }) => {
          const r = rel(path);
          if (r === '' || r.startsWith('..')) return false;
          if (stats === undefined) return filter.prunes(r);
          return stats.isDirectory() ? filter.prunes(r) : filter.ignores(r, false);
        },
  });
  let ready = false;
  const failed = new Promise<never>((_, reject) => {
    watcher.on('error', (e: unknown) => {
      const error = watchError(root, e);
      if (ready) onError(error);
      else reject(error);
    });
  });
  failed.catch(() => undefined);
  watcher.on('all', (event: string, path: string) => {
    if (!['add', 'change', 'unlink', 'addDir', 'unlinkDir'].includes(event)) return;
    const kind = event as ChangeKind;
    const r = isFile ? '' : rel(path);
    if (r.startsWith('..')) return;
    if (!isFile && (r === '' || filter.ignores(r, kind === 'addDir' || kind === 'unlinkDir'))) return;
    onChange({ rel: r, kind });
  });
  try {
    await Promise.race([new Promise<void>((resolve) => watcher.once('ready', () => resolve())), failed]);
  } catch (e) {
    await watcher.close();
    throw e;
  }
  ready = true;
  return { close: () => watcher.close() };
}
