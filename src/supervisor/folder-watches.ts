// What wakes the supervisor when nothing is due: inotify watches (fs.watch, one inotify
// instance for the whole process in libuv) on the folders whose files it follows — the
// project's run folder (the snapshot), its service records, and each service's runtime folder
// (the monitor's exit record). A watch costs nothing while nothing changes; a folder that is
// absent or goes away is simply not watched (the supervisor's slow liveness sweep covers it).
import { watch, type FSWatcher } from 'node:fs';

/** inotify watches on folders, keyed by folder, calling `onChange` for the files each one cares about. */
export class FolderWatches {
  private readonly watchers = new Map<string, FSWatcher>();

  constructor(private readonly onChange: () => void) {}

  /** Watches `dir` for changes of the entries `wanted` accepts (kept when already watched); false when it cannot. */
  add(dir: string, wanted: (entry: string) => boolean): boolean {
    if (this.watchers.has(dir)) return true;
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, { persistent: false }, (_event, entry) => {
        if (entry === null || wanted(String(entry))) this.onChange();
      });
    } catch {
      return false; // not there (yet): nothing to watch
    }
    watcher.on('error', () => this.remove(dir)); // the folder went away
    this.watchers.set(dir, watcher);
    return true;
  }

  /** Stops watching `dir` (a folder that may have been removed and made again is watched anew after). */
  remove(dir: string): void {
    this.watchers.get(dir)?.close();
    this.watchers.delete(dir);
  }

  /** How many folders are watched. */
  get size(): number {
    return this.watchers.size;
  }

  close(): void {
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }
}
