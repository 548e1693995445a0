// Reading one spec file for the loader: parse, check that each document is a mapping, and
// interpolate, with every finding collected in the load's context.
import { readText } from './fs.js';
import type { Diagnostic } from './diagnostics.js';
import { STDIN } from './discover.js';
import { interpolateTree, type Lookup } from './interpolate.js';
import type { KeyPath, Location } from './raw.js';
import type { MapNode } from './tree.js';
import { parseYaml } from './yaml.js';

/** State shared by one load: findings, and the parsed files (each file is read once). */
export class LoadContext {
  readonly diagnostics: Diagnostic[] = [];

  /** `stdin` gives the text of `-f -`; `interpolating` false leaves every value as written (interpolate() returns its tree). */
  constructor(
    private readonly stdin: () => string = () => readText(0),
    private readonly interpolating = true,
  ) {}

  private readonly parsed = new Map<string, MapNode[] | undefined>();
  private readonly warnedUnset = new Set<string>();

  /** Records an error. */
  error(d: Omit<Diagnostic, 'severity'>): void {
    this.diagnostics.push({ severity: 'error', ...d });
  }

  /** The findings without repeats (a file reached twice, e.g. by two extends, reports once). */
  unique(): Diagnostic[] {
    const seen = new Set<string>();
    return this.diagnostics.filter((d) => {
      const key = JSON.stringify([d.severity, d.code, d.location, d.path, d.message]);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }

  /** Errors recorded so far. */
  get errorCount(): number {
    return this.diagnostics.filter((d) => d.severity === 'error').length;
  }

  /** Compose warns about an unset variable and uses ""; once per variable is enough. */
  unset(name: string, location: Location, path: KeyPath): void {
    if (this.warnedUnset.has(name)) return;
    this.warnedUnset.add(name);
    this.diagnostics.push({
      severity: 'warning',
      code: 'UNSET_VARIABLE',
      location,
      path,
      message: `the variable ${name} is not set; using an empty string`,
      hint: `set ${name} in the environment or the .env file, or write \${${name}:-default}`,
    });
  }

  /** The documents of `file` as mapping trees, before interpolation; undefined when unusable.
   * `from` is the place that referred to the file (extends, include). */
  parse(file: string, from?: Location, what = 'spec file'): MapNode[] | undefined {
    if (this.parsed.has(file)) return this.parsed.get(file);
    const docs = this.read(file, from, what);
    this.parsed.set(file, docs);
    return docs;
  }

  private read(file: string, from: Location | undefined, what: string): MapNode[] | undefined {
    let text: string;
    try {
      text = file === STDIN ? this.stdin() : readText(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      this.error({
        code: code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_UNREADABLE',
        location: from ?? { file, line: 1, col: 1 },
        message: `cannot read ${what} ${file}: ${code === 'ENOENT' ? 'no such file' : (code ?? String(e))}`,
      });
      return undefined;
    }
    const { docs, diagnostics } = parseYaml(text, file);
    this.diagnostics.push(...diagnostics);
    if (diagnostics.some((d) => d.severity === 'error')) return undefined;
    // Empty documents (a trailing `---`) are skipped; a file with nothing at all is an error.
    const present = docs.filter((d) => d !== undefined);
    if (present.length === 0) {
      this.error({ code: 'EMPTY_FILE', location: { file, line: 1, col: 1 }, message: 'the file is empty', hint: 'a spec holds at least `services:`' });
      return undefined;
    }
    const out: MapNode[] = [];
    for (const doc of present) {
      if (doc.kind !== 'map') {
        this.error({
          code: 'NOT_A_MAPPING',
          location: doc.loc,
          message: 'the top level of a spec must be a mapping (keys such as services:, networks:)',
          found: doc.kind === 'seq' ? 'a list' : JSON.stringify(doc.value),
        });
      } else out.push(doc);
    }
    return out.length === present.length ? out : undefined;
  }

  /** A tree with its variables substituted; errors and unset warnings are recorded. */
  interpolate(doc: MapNode, lookup: Lookup): MapNode {
    if (!this.interpolating) return doc;
    const sink = { errors: [] as Diagnostic[], unset: (n: string, l: Location, p: KeyPath) => this.unset(n, l, p) };
    const out = interpolateTree(doc, lookup, sink) as MapNode;
    this.diagnostics.push(...sink.errors);
    return out;
  }
}
