// Typed errors with a stable code, a message for the user, a hint and a cause. The CLI prints
// a UserError without a stack trace and exits 1; anything else is a bug and exits 2.

/** Something the user can fix: a bad spec, a port in use, a missing package. */
export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(
    /** Stable, greppable, asserted by tests, e.g. `SPEC_INVALID`, `PORT_IN_USE`. */
    readonly code: string,
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A failed system call or kernel request, carrying the whole call (runc's mountError style). */
export class KernelError extends Error {
  override readonly name = 'KernelError';
  constructor(
    /** The call as a human would write it: `RTM_NEWLINK stk1a2b (peer eth0 in stk-web)`. */
    readonly call: string,
    /** Symbolic errno, e.g. `EEXIST`. */
    readonly errno: string,
    /** Numeric errno (positive). */
    readonly errnoValue: number,
    options?: { cause?: unknown },
  ) {
    super(`${call}: ${errno}`, options);
  }
}

/**
 * An operation of a run that failed for a reason stack does not know as the user's: its message
 * names the service or resource (`subject`) and the operation; `cause` is what was thrown.
 */
export class OperationFailure extends Error {
  override readonly name = 'OperationFailure';
  constructor(
    message: string,
    /** `service "web"`, or the resource the operation acts on. */
    readonly subject: string,
    options: { cause: unknown },
  ) {
    super(message, options);
  }
}

/** Several failures of a best-effort operation (teardown), all reported together. */
export class AggregateStackError extends Error {
  override readonly name = 'AggregateStackError';
  constructor(
    /** What failed, before the list (`2 operations failed`). */
    readonly summary: string,
    readonly errors: readonly Error[],
  ) {
    super(`${summary}:\n  ${errors.map((e) => e.message).join('\n  ')}`);
  }
}

/** True for errors a user caused and can fix (printed without a stack trace). */
export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}
