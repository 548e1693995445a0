// A watch session: every rule's watcher feeds its service's batcher; a closed batch becomes one
// action (copy, restart, exec) per service, never two at once for one service. Changes that
// land while an action is under way are kept and make exactly one more. Two loop guards: a
// service that dies right after a restart is paused (stopped) until the next change, and a rule
// whose every restart is followed by a change to the same files is suspended (feedback.ts).
import { mark } from '../trace.js';
import { existsSync, statSync } from 'node:fs';
import { lstat } from '../sys/fs-async.js';
import { posix } from 'node:path';
import type { WatchExec, WatchRule } from '../spec/project.js';
import { Batcher, DEFAULT_MAX_DELAY_MS, DEFAULT_QUIET_MS, realClock, type Clock } from './batcher.js';
import type { WatchFilter } from './filter.js';
import { copyInto, removeFrom, type Owner, type SyncDestination } from './sync.js';
import type { Change, PathWatcher } from './watcher.js';
import { FEEDBACK_STREAK, FeedbackGuard } from './feedback.js';
import type { UserError } from '../errors.js';

/** How long after git wrote its index a batch of the repository's files still stays open. */
export const GIT_SETTLE_MS = 250;

/** Whether git is at work in `gitDir` (its index.lock exists) or wrote its index less than GIT_SETTLE_MS ago. */
function gitAtWork(gitDir: string, now: number): boolean {
  if (existsSync(`${gitDir}/index.lock`)) return true;
  const index = statSync(`${gitDir}/index`, { throwIfNoEntry: false });
  return index !== undefined && now - index.mtimeMs >= 0 && now - index.mtimeMs < GIT_SETTLE_MS;
}

/** A rule ready to watch: its filter and, for sync actions, where copies go. */
export interface PreparedRule {
  readonly service: string;
  /** 1-based, as a user counts the rules of a service. */
  readonly number: number;
  readonly rule: WatchRule;
  readonly isFile: boolean;
  readonly filter: WatchFilter;
  readonly destination?: SyncDestination;
  /** The git folder of the repository the path is in, when it is in one (its index.lock holds a batch). */
  readonly gitDir?: string;
}

/** How the process of a service ended after a restart, when it did. */
export interface EarlyExit {
  readonly afterMs: number;
  /** `exited with code 1`, `killed by SIGSEGV`. */
  readonly description: string;
  readonly success: boolean;
}

/** What a session does to services: the CLI gives the real verbs, bound to one project. */
export interface WatchActions {
  /** Restarts the service (or starts it when it is not running), its `restart: true` dependents after it. */
  restart(service: string, cause: string): Promise<void>;
  /**
   * Stops the service now, for a restart that finish() completes (as restart() would) once the
   * batch closes: the stop overlaps the quiet window. Without it, restarts stop after the window.
   */
  beginRestart?(service: string): Promise<{ finish(cause: string): Promise<void> }>;
  /** Stops the service and keeps it stopped (the crash-loop pause). */
  pause(service: string): Promise<void>;
  /** Builds the service's image again and recreates the service on it (`up -d --build --no-deps`). */
  rebuild?(service: string, cause: string): Promise<void>;
  /** Runs a rule's exec in the service; resolves with its exit code and a bit of output. */
  exec(service: string, hook: WatchExec): Promise<{ exitCode: number | null; output: string }>;
  /** Resolves when the service's process exits within `ms` of now, else undefined. */
  exitWithin(service: string, ms: number): Promise<EarlyExit | undefined>;
  /** Who owns files copied into the service's volumes. */
  owner(service: string): Owner | undefined;
}

/** Where a session reports. */
export interface WatchReport {
  /** One line about a service (`restarted in 38 ms  (src/a.js changed)`). */
  line(service: string, text: string): void;
  /** A watcher failed after it started (inotify limits). */
  error(e: UserError): void;
}

/** Session tuning. */
export interface SessionOptions {
  readonly quietMs?: number;
  readonly maxDelayMs?: number;
  /** Folder that paths in messages are relative to (the project's). */
  readonly displayRoot: string;
  readonly clock?: Clock;
}

/** A process that dies within this long after a watch restart is paused. */
export const EARLY_EXIT_MS = 1000;

interface RuleChange {
  readonly rule: PreparedRule;
  readonly change: Change;
  /** When the watcher reported it. */
  readonly at: number;
}

interface ServiceState {
  readonly batcher: Batcher<RuleChange>;
  busy: boolean;
  pending: RuleChange[];
  /** The service was paused after an early exit: the next change starts it again. */
  paused: boolean;
  /** Latest early-exit check: a newer restart makes older checks moot. */
  generation: number;
  /** A restart is under way (a pause now would stop what it starts). */
  restarting: boolean;
  /** A restart begun at the first change of the open batch (its stop), finished when the batch closes. */
  early: Promise<{ finish(cause: string): Promise<void> } | undefined> | undefined;
}

/**
 * Whether a change counts for its rule: a folder made or removed matters only to a sync rule
 * (files in it come with their own events; a sync makes their folders), and to none with `include`.
 */
function counts(rule: PreparedRule, change: Change): boolean {
  if (change.kind !== 'addDir' && change.kind !== 'unlinkDir') return true;
  if (!rule.rule.action.startsWith('sync') || rule.rule.include.length > 0) return false;
  return change.kind === 'unlinkDir';
}

/** The `src/a.js changed` part of a line. */
export function describeChanges(paths: readonly { path: string; deleted: boolean }[]): string {
  if (paths.length === 0) return 'changed';
  const first = paths[0]!;
  const verb = paths.every((p) => p.deleted) ? 'deleted' : 'changed';
  return paths.length === 1 ? `${first.path} ${verb}` : `${first.path} and ${paths.length - 1} more ${verb}`;
}

/** One `stack watch`: start() watches, close() stops (services keep running). */
export class WatchSession {
  private readonly services = new Map<string, ServiceState>();
  private readonly guards = new Map<PreparedRule, FeedbackGuard>();
  private readonly watchers: PathWatcher[] = [];
  private readonly running = new Set<Promise<void>>();
  private readonly clock: Clock;
  private closed = false;

  constructor(
    private readonly prepared: readonly PreparedRule[],
    private readonly actions: WatchActions,
    private readonly report: WatchReport,
    private readonly options: SessionOptions,
  ) {
    this.clock = options.clock ?? realClock;
    for (const rule of prepared) {
      this.guards.set(rule, new FeedbackGuard());
      if (!this.services.has(rule.service)) {
        // While git checks out, merges or rebases (its index.lock exists), the batch stays open;
        // and for GIT_SETTLE_MS after it wrote its index, while the watcher still delivers the
        // events of the files git wrote (on a busy machine they may come after the lock is gone).
        const gitDirs = [...new Set(prepared.filter((r) => r.service === rule.service && r.gitDir !== undefined).map((r) => r.gitDir!))];
        const batcher = new Batcher<RuleChange>(
          (items) => this.enqueue(rule.service, items),
          options.quietMs ?? DEFAULT_QUIET_MS,
          options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS,
          this.clock,
          () => gitDirs.some((dir) => gitAtWork(dir, this.clock.now())),
          // A file or folder deleted last: an editor's delete-and-create (a tool's `rm -r` and
          // copy) is under way, its create still to come.
          (items) => items.at(-1)?.change.kind === 'unlink' || items.at(-1)?.change.kind === 'unlinkDir',
        );
        this.services.set(rule.service, { batcher, busy: false, pending: [], paused: false, generation: 0, restarting: false, early: undefined });
      }
    }
  }

  /** Starts every rule's watcher (`watch` is watcher.ts's watchPath, or a test's); on a failure the ones started are closed. */
  async start(watch: (rule: PreparedRule, onChange: (c: Change) => void, onError: (e: UserError) => void) => Promise<PathWatcher>): Promise<void> {
    try {
      for (const rule of this.prepared) {
        this.watchers.push(await watch(rule, (change) => this.feed(rule, change), (e) => this.report.error(e)));
      }
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  /** Feeds one change as a watcher would (tests, and start()). */
  feed(rule: PreparedRule, change: Change): void {
    if (!counts(rule, change)) return;
    mark(`watch event ${change.kind} ${change.rel}`);
    const state = this.services.get(rule.service);
    if (!state) return;
    this.beginEarly(rule, change, state);
    state.batcher.add({ rule, change, at: this.clock.now() });
  }

  /**
   * At the first change of a batch that will restart its service, the stop begins at once: it
   * overlaps the quiet window, and only the start follows the window. Not while an action is
   * under way (its changes make one more restart after it), for a paused (stopped) service,
   * or when the rule's feedback guard may hold the batch back.
   */
  private beginEarly(rule: PreparedRule, change: Change, state: ServiceState): void {
    const begin = this.actions.beginRestart;
    if (begin === undefined || state.early !== undefined || state.busy || state.paused || this.closed) return;
    if (rule.rule.action !== 'restart' && rule.rule.action !== 'sync+restart') return;
    if (this.guards.get(rule)!.mayHold(change.rel, this.clock.now())) return;
    state.generation++; // the early-exit check of the last restart is moot: this stop is ours
    state.restarting = true;
    const early = begin.call(this.actions, rule.service).catch((e: unknown) => {
      this.report.line(rule.service, `stopping for a restart failed: ${e instanceof Error ? e.message : String(e)}; it restarts once the changes settle`);
      return undefined;
    });
    state.early = early;
    const tracked = early.then(() => undefined);
    this.running.add(tracked);
    void tracked.finally(() => this.running.delete(tracked));
  }

  /** Resolves when no action is under way or pending (tests). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  /** Stops watching; an action under way finishes first. */
  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.services.values()) s.batcher.cancel();
    await Promise.all(this.watchers.map((w) => w.close()));
    await this.idle();
    // A restart begun for a batch that will not close now: its service runs again, as before the change.
    for (const [service, state] of this.services) {
      const begun = await this.takeEarly(state);
      await begun?.finish('watch stopped').catch((e: unknown) => this.report.line(service, `starting again failed: ${e instanceof Error ? e.message : String(e)}`));
    }
  }

  /** The restart begun for the batch being acted on, once its stop is done (undefined when none was). */
  private async takeEarly(state: ServiceState): Promise<{ finish(cause: string): Promise<void> } | undefined> {
    const early = state.early;
    state.early = undefined;
    return early === undefined ? undefined : await early;
  }

  private enqueue(service: string, items: RuleChange[]): void {
    if (this.closed) return;
    const state = this.services.get(service)!;
    state.pending.push(...items);
    if (state.busy) return; // taken by the loop below once the action under way ends
    state.busy = true;
    const work = (async () => {
      try {
        while (state.pending.length > 0 && !this.closed) {
          const batch = state.pending;
          state.pending = [];
          try {
            await this.act(service, state, batch);
          } catch (e) {
            // Watching goes on whatever one action did.
            this.report.line(service, `watch action failed: ${e instanceof Error ? e.message : String(e)}`);
          }
        }
      } finally {
        state.busy = false;
      }
    })();
    this.running.add(work);
    void work.finally(() => this.running.delete(work));
  }

  private display(rule: PreparedRule, rel: string): string {
    const full = rel === '' ? rule.rule.path : posix.join(rule.rule.path, rel);
    const shown = posix.relative(this.options.displayRoot, full);
    return shown === '' || shown.startsWith('..') ? full : shown;
  }

  /** What the rule's feedback guard says of this batch, with its line when it has one. */
  private admit(rule: PreparedRule, files: Set<string>, at: number, service: string): boolean {
    const verdict = this.guards.get(rule)!.judge(files, at, rule.rule.action.includes('restart'));
    if (verdict.kind === 'drop') return false;
    if (verdict.kind === 'act') {
      if (verdict.resumed) this.report.line(service, `watch rule ${rule.number} resumed (another file changed)`);
      return true;
    }
    const names = verdict.files.slice(0, 3).map((f) => this.display(rule, f));
    const more = verdict.files.length > 3 ? ` and ${verdict.files.length - 3} more` : '';
    this.report.line(
      service,
      `watch rule ${rule.number} suspended: each of the last ${FEEDBACK_STREAK} restarts was followed by a change to ${names.join(', ')}${more} ` +
        "(the service writes into its own watched path?); add it to the rule's `ignore` or .dockerignore. A change to any other file resumes the rule",
    );
    return false;
  }

  private async act(service: string, state: ServiceState, batch: RuleChange[]): Promise<void> {
    const begun = await this.takeEarly(state);
    let finished = begun === undefined;
    const finish = async (cause: string): Promise<void> => {
      finished = true;
      await begun!.finish(cause);
    };
    try {
      await this.actOn(service, state, batch, begun === undefined ? undefined : finish);
    } finally {
      state.restarting = false;
      // Begun but not acted on (the feedback guard held the batch, or a copy failed before): the
      // service runs again as before the change, with no restart line.
      if (!finished) await finish('watch: nothing to act on').catch((e: unknown) => this.report.line(service, `starting again failed: ${e instanceof Error ? e.message : String(e)}`));
    }
  }

  private async actOn(service: string, state: ServiceState, batch: RuleChange[], finish: ((cause: string) => Promise<void>) | undefined): Promise<void> {
    // The last event of a path decides (created then deleted: deleted).
    const byRule = new Map<PreparedRule, Map<string, Change>>();
    const firstAt = new Map<PreparedRule, number>();
    for (const { rule, change, at } of batch) {
      let files = byRule.get(rule);
      if (!files) byRule.set(rule, (files = new Map()));
      files.set(change.rel, change);
      firstAt.set(rule, Math.min(firstAt.get(rule) ?? at, at));
    }
    const acting: [PreparedRule, Map<string, Change>][] = [];
    for (const [rule, files] of byRule) {
      const names = new Set(files.keys());
      if (!this.admit(rule, names, firstAt.get(rule)!, service)) continue;
      acting.push([rule, files]);
    }
    if (acting.length === 0) return;
    const touched = acting.flatMap(([rule, files]) =>
      [...files.values()].map((c) => ({ path: this.display(rule, c.rel), deleted: c.kind === 'unlink' || c.kind === 'unlinkDir' })),
    );
    const cause = describeChanges(touched);
    mark('watch batch closed');

    // 1. copies
    let copied = 0;
    const started = this.clock.now();
    for (const [rule, files] of acting) {
      const dest = rule.destination;
      if (dest?.kind !== 'volume') continue;
      for (const change of files.values()) {
        const source = change.rel === '' ? rule.rule.path : posix.join(rule.rule.path, change.rel);
        // Where it goes inside the volume: the target itself for a file rule, else under it.
        const rel = rule.isFile ? dest.base : posix.join(dest.base, change.rel);
        let done = false;
        // into each replica's folder of an anonymous volume (one folder for a named volume)
        for (const root of dest.roots) {
          try {
            if (change.kind === 'unlink' || change.kind === 'unlinkDir') await removeFrom(root, rel);
            else if ((await copyInto(root, rel, source, this.actions.owner(service))) === 'skipped') continue;
            done = true;
          } catch (e) {
            const code = (e as NodeJS.ErrnoException).code;
            // The source gone again since the event: mirror that (the volume's folder missing fails)
            if (code === 'ENOENT' && !(await exists(source))) {
              await removeFrom(root, rel).catch(() => undefined);
              done = true;
              continue;
            }
            this.report.line(service, `sync of ${this.display(rule, change.rel)} failed: ${e instanceof Error ? e.message : String(e)}`);
          }
        }
        if (done) copied++;
      }
    }

    // A rebuild goes before everything else the batch asks: the service is made anew from its new image.
    if (acting.some(([rule]) => rule.rule.action === 'rebuild') && this.actions.rebuild !== undefined) {
      const t0 = this.clock.now();
      state.restarting = true;
      state.generation++;
      try {
        await this.actions.rebuild(service, cause);
      } catch (e) {
        this.report.line(service, `rebuild failed: ${e instanceof Error ? e.message : String(e)}  (${cause}); watching goes on`);
        return;
      } finally {
        state.restarting = false;
      }
      state.paused = false;
      this.report.line(service, `rebuilt and recreated in ${this.clock.now() - t0} ms  (${cause})`);
      this.checkEarlyExit(service, state);
      return;
    }

    // 2. a restart, or 3. the rules' commands
    const restart = acting.some(([rule]) => rule.rule.action === 'restart' || rule.rule.action === 'sync+restart');
    if (restart) {
      const t0 = this.clock.now();
      state.restarting = true;
      state.generation++;
      try {
        await (finish !== undefined ? finish(cause) : this.actions.restart(service, cause));
      } catch (e) {
        this.report.line(service, `restart failed: ${e instanceof Error ? e.message : String(e)}  (${cause}); watching goes on`);
        return;
      } finally {
        state.restarting = false;
      }
      const ended = this.clock.now();
      mark('watch restart done');
      const verb = state.paused ? 'started again' : 'restarted';
      state.paused = false;
      this.report.line(service, `${verb} in ${ended - t0} ms  (${cause}${copied > 0 ? `; ${copied} synced` : ''})`);
      for (const [rule, files] of acting) {
        if (rule.rule.action.includes('restart')) this.guards.get(rule)!.restarted(new Set(files.keys()), ended);
      }
      this.checkEarlyExit(service, state);
      return;
    }
    if (copied > 0) this.report.line(service, `synced ${copied} in ${this.clock.now() - started} ms  (${cause})`);
    for (const [rule] of acting) {
      const hook = rule.rule.exec;
      if (rule.rule.action !== 'sync+exec' || !hook) continue;
      const t0 = this.clock.now();
      try {
        const result = await this.actions.exec(service, hook);
        const status = result.exitCode === 0 ? 'exit 0' : result.exitCode === null ? 'killed' : `exit ${result.exitCode}`;
        const tail = result.exitCode === 0 || result.output === '' ? '' : `: ${result.output.trim().split('\n').slice(-3).join(' | ')}`;
        this.report.line(service, `ran ${hook.command.join(' ')} in ${this.clock.now() - t0} ms  (${status}${tail})`);
      } catch (e) {
        this.report.line(service, `exec of ${hook.command.join(' ')} failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  /** A restarted process that dies at once (not a one-shot finishing well) is paused. */
  private checkEarlyExit(service: string, state: ServiceState): void {
    const generation = ++state.generation;
    const check = (async () => {
      const exit = await this.actions.exitWithin(service, EARLY_EXIT_MS).catch(() => undefined);
      if (!exit || generation !== state.generation || this.closed) return;
      if (exit.success) {
        this.report.line(service, `completed (${exit.description})`);
        return;
      }
      // A newer restart under way or due decides instead.
      if (generation !== state.generation || state.restarting || state.pending.length > 0) return;
      try {
        await this.actions.pause(service);
      } catch (e) {
        this.report.line(service, `pausing failed: ${e instanceof Error ? e.message : String(e)}`);
      }
      state.paused = true;
      this.report.line(service, `${exit.description} ${exit.afterMs} ms after its restart: paused (not restarted until its files change again); watching goes on`);
    })();
    this.running.add(check);
    void check.finally(() => this.running.delete(check));
  }
}

/** Whether `path` exists (a symlink counts, whatever it points at). */
async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}
