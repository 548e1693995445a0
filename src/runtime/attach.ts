// `stack attach`'s side of a running service (its output is follow.ts followLogFromNow): a copy
// of the descriptor its monitor holds that is the service's input (native/launcher.c's `ok` line
// names it: a `tty` service's terminal master, a `stdin_open` service's pipe), and the detach keys.
import { PinnedProcess, pidfdGetfd } from '../sys/pidfd.js';

/** The monitor of a service as its record keeps it. */
export interface MonitorRef {
  readonly pid: number;
  readonly startTime: number;
  /** Its descriptor that is the service's input; absent for a service without one (nor for one started before stack recorded it). */
  readonly input?: number;
}

/**
 * A descriptor of this process for the service's input: a copy of its monitor's (pidfd_getfd),
 * writes to which the service reads. Undefined when the service has no input or its monitor is
 * gone (the service with it).
 */
export function serviceInput(monitor: MonitorRef): number | undefined {
  if (monitor.input === undefined) return undefined;
  const pinned = PinnedProcess.open(monitor.pid, monitor.startTime);
  if (pinned === undefined || pinned.descriptor === undefined) return undefined;
  try {
    return pidfdGetfd(pinned.descriptor, monitor.input, `monitor pid ${monitor.pid}`);
  } finally {
    pinned.close();
  }
}

/**
 * Parses docker's --detach-keys: comma-separated keys, each a character (its first byte) or
 * `ctrl-X` (X a letter, or one of @ [ \\ ] ^ _). Undefined when the text is not such a list.
 */
export function parseDetachKeys(text: string): Buffer | undefined {
  const bytes: number[] = [];
  for (const key of text.split(',')) {
    if ([...key].length === 1) bytes.push(Buffer.from(key)[0]!);
    else {
      const m = /^ctrl-([a-zA-Z@[\\\]^_])$/.exec(key);
      if (m === null) return undefined;
      bytes.push(m[1]!.toUpperCase().charCodeAt(0) & 0x1f);
    }
  }
  return bytes.length > 0 ? Buffer.from(bytes) : undefined;
}

/**
 * Watches typed bytes for the detach sequence: returns what to pass on now, and whether the
 * sequence is complete (what matched it is held back, and dropped once it completes). After a
 * partial match that fails, the bytes held but the first are matched again with the new one, so
 * a sequence whose first key repeats (a,a,b typed aaab) is found.
 */
export class DetachMatcher {
  private held = 0;

  constructor(private readonly keys: Buffer) {}

  push(chunk: Buffer): { pass: Buffer; detach: boolean } {
    const out: number[] = [];
    for (const byte of chunk) if (this.step(byte, out)) return { pass: Buffer.from(out), detach: true };
    return { pass: Buffer.from(out), detach: false };
  }

  /** One byte: true when it completes the sequence; what is not (or no longer) held goes to `out`. */
  private step(byte: number, out: number[]): boolean {
    if (byte === this.keys[this.held]) {
      this.held++;
      return this.held === this.keys.length;
    }
    if (this.held === 0) {
      out.push(byte);
      return false;
    }
    const again = [...this.keys.subarray(1, this.held), byte];
    out.push(this.keys[0]!);
    this.held = 0;
    return again.some((b) => this.step(b, out));
  }
}
