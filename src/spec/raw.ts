// The contract between loading (files, merge, extends, include, interpolation) and validation:
// one merged plain document plus where each of its values came from.

import type { KeyPath, Location } from './location.js';

export type { KeyPath, Location } from './location.js';

/** The merged, interpolated document before validation. */
export interface RawSpec {
  /** Plain JSON-like data: objects, arrays, strings, numbers, booleans, null. */
  readonly doc: Record<string, unknown>;
  /** Where the value at `path` was written; the nearest ancestor's place when not exact. */
  locate(path: KeyPath): Location | undefined;
  /** The files that were read, in merge order (absolute). */
  readonly files: readonly string[];
  /** The project folder (the folder of the first file, or --project-directory). */
  readonly workingDir: string;
  /** Name from -p, else `name:`, else the folder name, normalized as compose does. */
  readonly projectName: string;
  /** The environment used for interpolation: process env over the project's .env file(s). */
  readonly env: Readonly<Record<string, string>>;
  /** Non-fatal findings of loading (e.g. an empty variable defaulted to ""). */
  readonly warnings: readonly import('./diagnostics.js').Diagnostic[];
}
