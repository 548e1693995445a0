// Collects the findings of normalization (semantic mistakes the schema cannot see) with their
// places in the spec, so that every one of them is reported together.
import type { Diagnostic } from './diagnostics.js';
import type { KeyPath, RawSpec } from './raw.js';
import { describeValue, locate, valueAt } from './findings.js';

/** What a finding says besides its message. */
export interface Detail {
  readonly expected?: string;
  readonly found?: string;
  readonly hint?: string;
}

/** A sink for diagnostics about one RawSpec. */
export class Report {
  readonly diagnostics: Diagnostic[] = [];
  constructor(readonly raw: RawSpec) {}

  /** Records an error at `path`; `found` defaults to the value written there. */
  error(path: KeyPath, code: string, message: string, detail: Detail = {}): void {
    this.add('error', path, code, message, detail);
  }

  /** Records a warning at `path`. */
  warn(path: KeyPath, code: string, message: string, detail: Detail = {}): void {
    this.add('warning', path, code, message, detail);
  }

  /** True when an error was recorded. */
  get failed(): boolean {
    return this.diagnostics.some((d) => d.severity === 'error');
  }

  private add(severity: Diagnostic['severity'], path: KeyPath, code: string, message: string, detail: Detail): void {
    const value = valueAt(this.raw.doc, path);
    const found = detail.found ?? (severity === 'error' && value !== undefined ? describeValue(value) : undefined);
    this.diagnostics.push({
      severity,
      code,
      location: locate(this.raw, path),
      path,
      message,
      ...(detail.expected !== undefined ? { expected: detail.expected } : {}),
      ...(found !== undefined ? { found } : {}),
      ...(detail.hint !== undefined ? { hint: detail.hint } : {}),
    });
  }
}
