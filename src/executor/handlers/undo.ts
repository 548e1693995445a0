// "If an operation fails, what it half-made is undone": run the work, and on failure run the
// undo (best effort: its own failure is attached to the error, never hides it).

/** Runs `work`; when it throws, runs `undo` and rethrows the original error. */
export async function undoing<T>(work: () => Promise<T>, undo: () => Promise<void> | void): Promise<T> {
  try {
    return await work();
  } catch (error) {
    try {
      await undo();
    } catch (undoError) {
      if (error instanceof Error) {
        const why = undoError instanceof Error ? undoError.message : String(undoError);
        error.message += ` (and undoing what was half-made failed: ${why})`;
      }
    }
    throw error;
  }
}
