// The feedback-loop guard of one watch rule: a service that writes into its own watched path (a
// log file, __pycache__) would restart forever. After FEEDBACK_STREAK restarts each followed at
// once by a change to the same files, the rule is suspended for those files; a change to any
// other file resumes it. A person saving the same file is not a loop: saves come later than
// FEEDBACK_WINDOW_MS after the restart ended.

/** A change this soon after a restart ends may be the service's own doing (a person saves later). */
export const FEEDBACK_WINDOW_MS = 1000;
/** Restarts followed by changes to the same files before the rule is suspended. */
export const FEEDBACK_STREAK = 3;

/** What the guard says of a batch of changed files. */
export type Verdict =
  /** Act on it. */
  | { readonly kind: 'act'; readonly resumed: boolean }
  /** Only files the suspended rule waits out: leave it. */
  | { readonly kind: 'drop' }
  /** This batch makes the streak: the rule is now suspended for these files. */
  | { readonly kind: 'suspend'; readonly files: readonly string[] };

/** One rule's guard. */
export class FeedbackGuard {
  private lastRestart: { files: Set<string>; endedAt: number } | undefined;
  private streak = 0;
  private suspended: Set<string> | undefined;

  /** Judges a batch of `files` whose first change came at `at`; `restarts` says whether the rule restarts. */
  judge(files: ReadonlySet<string>, at: number, restarts: boolean): Verdict {
    let resumed = false;
    if (this.suspended) {
      const waited = this.suspended;
      if ([...files].every((f) => waited.has(f))) return { kind: 'drop' };
      this.suspended = undefined;
      this.streak = 0;
      this.lastRestart = undefined;
      resumed = true;
    }
    if (!restarts) return { kind: 'act', resumed };
    const last = this.lastRestart;
    const soon = last !== undefined && at - last.endedAt <= FEEDBACK_WINDOW_MS;
    const same = last !== undefined && [...files].every((f) => last.files.has(f));
    this.streak = soon && same ? this.streak + 1 : 0;
    if (this.streak < FEEDBACK_STREAK) return { kind: 'act', resumed };
    this.suspended = new Set(files);
    this.streak = 0;
    return { kind: 'suspend', files: [...files] };
  }

  /**
   * Whether a batch that starts with a change to `file` at `at` may be held back: the rule is
   * suspended for that file, or one more restart soon after the last may make the streak.
   */
  mayHold(file: string, at: number): boolean {
    if (this.suspended?.has(file)) return true;
    const last = this.lastRestart;
    return last !== undefined && at - last.endedAt <= FEEDBACK_WINDOW_MS && last.files.has(file) && this.streak + 1 >= FEEDBACK_STREAK;
  }

  /** A restart for `files` ended at `endedAt`. */
  restarted(files: ReadonlySet<string>, endedAt: number): void {
    this.lastRestart = { files: new Set(files), endedAt };
  }
}
