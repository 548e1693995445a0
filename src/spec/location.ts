// Where a value of a spec was written, shared by the raw document (raw.ts) and the findings
// about it (diagnostics.ts), so neither imports the other.

/** A place in a spec file, 1-based line and column. */
export interface Location {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

/** A key path into the document, e.g. ['services', 'web', 'ports', 0]. */
export type KeyPath = readonly (string | number)[];
