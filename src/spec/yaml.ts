// Parses one spec file (YAML 1.2, anchors, aliases, merge keys, `!reset`/`!override`) into
// located trees, one per document, with every syntax error of the file as a diagnostic.
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  type Document,
  type Node as YNode,
} from 'yaml';
import type { Diagnostic } from './diagnostics.js';
import type { Location } from './raw.js';
import { mapNode, type MergeTag, type Node } from './tree.js';

/** What one file holds: its documents (undefined for an empty one) and what went wrong. */
export interface ParsedFile {
  readonly docs: readonly (Node | undefined)[];
  readonly diagnostics: readonly Diagnostic[];
}

const MERGE_TAGS: Record<string, MergeTag> = { '!reset': 'reset', '!override': 'override' };
/** Upper bound on values produced by alias expansion (guards against "billion laughs"). */
const MAX_ALIASED_NODES = 100_000;

/** Parses `text` (the content of `file`) into located trees. */
export function parseYaml(text: string, file: string): ParsedFile {
  const lc = new LineCounter();
  const diagnostics: Diagnostic[] = [];
  const at = (offset: number): Location => ({ file, ...lc.linePos(offset) });
  let docs: Document.Parsed[];
  try {
    docs = parseAllDocuments(text, {
      lineCounter: lc,
      version: '1.2',
      merge: true,
      uniqueKeys: true,
      prettyErrors: false,
      strict: true,
    }) as Document.Parsed[];
  } catch (e) {
    return { docs: [], diagnostics: [{ severity: 'error', code: 'YAML_SYNTAX', location: { file, line: 1, col: 1 }, message: String(e) }] };
  }
  if (!Array.isArray(docs)) docs = [docs];
  const out: (Node | undefined)[] = [];
  for (const doc of docs) {
    for (const e of doc.errors) {
      const dup = e.code === 'DUPLICATE_KEY';
      diagnostics.push({
        severity: 'error',
        code: dup ? 'DUPLICATE_KEY' : 'YAML_SYNTAX',
        location: at(e.pos[0]),
        message: dup
          ? `duplicate key ${keyAt(text, e.pos[0])}: a key may appear only once in a mapping`
          : `YAML syntax: ${firstLine(e.message)}`,
      });
    }
    for (const w of doc.warnings) {
      const tag = /Unresolved tag: (\S+)/.exec(w.message)?.[1];
      if (tag && Object.hasOwn(MERGE_TAGS, tag)) continue;
      diagnostics.push({
        severity: 'warning',
        code: tag ? 'YAML_TAG' : 'YAML_WARNING',
        location: at(w.pos[0]),
        message: tag ? `unknown YAML tag ${tag} ignored` : firstLine(w.message),
        ...(tag ? { hint: 'stack knows the tags !reset and !override' } : {}),
      });
    }
    if (doc.errors.length > 0) {
      out.push(undefined);
      continue;
    }
    out.push(new Converter(doc, text, at, diagnostics).root());
  }
  return { docs: out, diagnostics };
}

/** The key written at `offset`, as written (for naming a duplicate key). */
function keyAt(text: string, offset: number): string {
  const m = /^(?:"[^"\n]*"|'[^'\n]*'|[^\n]*?)(?=\s*:(?:\s|$))/.exec(text.slice(offset, offset + 200));
  return m ? m[0].trim() : text.slice(offset).split(/[\s:]/)[0]!;
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

/** Walks the yaml AST of one document into our located tree. */
class Converter {
  private readonly memo = new Map<YNode, Node>();
  private aliased = 0;

  constructor(
    private readonly doc: Document.Parsed,
    private readonly text: string,
    private readonly at: (offset: number) => Location,
    private readonly diagnostics: Diagnostic[],
  ) {}

  root(): Node | undefined {
    const c = this.doc.contents;
    if (c === null || (isScalar(c) && c.value === null && !c.tag)) return undefined;
    return this.convert(c, new Set());
  }

  private error(loc: Location, code: string, message: string): void {
    this.diagnostics.push({ severity: 'error', code, location: loc, message });
  }

  private convert(n: YNode, stack: Set<YNode>, locOverride?: Location): Node {
    const loc = locOverride ?? this.at(n.range?.[0] ?? 0);
    if (isAlias(n)) {
      const target = n.resolve(this.doc);
      if (!target) {
        this.error(loc, 'YAML_SYNTAX', `unknown anchor ${n.source}`);
        return { kind: 'scalar', value: null, loc };
      }
      if (stack.has(target)) {
        this.error(loc, 'YAML_SYNTAX', `alias *${n.source} refers to a value that contains it`);
        return { kind: 'scalar', value: null, loc };
      }
      let node = this.memo.get(target);
      if (!node) {
        node = this.convert(target, stack);
        this.memo.set(target, node);
      }
      this.aliased += size(node);
      if (this.aliased > MAX_ALIASED_NODES) {
        this.error(loc, 'YAML_SYNTAX', 'too many values produced by aliases (is an alias nested in itself many times?)');
        return { kind: 'scalar', value: null, loc };
      }
      return { ...node, loc };
    }
    const tag = n.tag && Object.hasOwn(MERGE_TAGS, n.tag) ? MERGE_TAGS[n.tag] : undefined;
    stack.add(n);
    try {
      if (isMap(n)) return this.map(n, loc, tag, stack);
      if (isSeq(n)) {
        const items = n.items.map((i) => (i === null ? { kind: 'scalar' as const, value: null, loc } : this.convert(i as YNode, stack)));
        return withTag({ kind: 'seq', loc, items }, tag);
      }
      if (isScalar(n)) return withTag(this.scalar(n, loc), tag);
    } finally {
      stack.delete(n);
    }
    this.error(loc, 'YAML_SYNTAX', 'unsupported YAML node');
    return { kind: 'scalar', value: null, loc };
  }

  private scalar(n: import('yaml').Scalar, loc: Location): Node {
    let v = n.value;
    if (typeof v === 'bigint') v = Number(v);
    if (typeof v === 'symbol') v = v.description ?? '';
    if (v !== null && typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      this.error(loc, 'YAML_SYNTAX', `unsupported YAML value of type ${typeof v}`);
      return { kind: 'scalar', value: null, loc };
    }
    // Column mapping for precise interpolation errors: only when the value is written verbatim.
    if (typeof v === 'string' && n.range) {
      const src = this.text.slice(n.range[0], n.range[1]);
      if (n.type === 'PLAIN' && src === v) return { kind: 'scalar', value: v, loc, textOffset: 0 };
      if ((n.type === 'QUOTE_SINGLE' || n.type === 'QUOTE_DOUBLE') && src.slice(1, -1) === v && !v.includes('\n'))
        return { kind: 'scalar', value: v, loc, textOffset: 1 };
    }
    return { kind: 'scalar', value: v, loc };
  }

  private map(n: import('yaml').YAMLMap, loc: Location, tag: MergeTag | undefined, stack: Set<YNode>): Node {
    const own: [string, Location, Node][] = [];
    const merged: [string, Location, Node][] = [];
    for (const pair of n.items) {
      const k = pair.key as YNode | null;
      const kloc = k?.range ? this.at(k.range[0]) : loc;
      if (isMergeKey(k)) {
        merged.push(...this.mergeSources(pair.value as YNode | null, kloc, stack));
        continue;
      }
      if (!isScalar(k) || k.value === null || typeof k.value === 'object') {
        this.error(kloc, 'YAML_SYNTAX', 'a mapping key must be a plain value (string or number)');
        continue;
      }
      const key = String(k.value);
      const value = pair.value === null ? { kind: 'scalar' as const, value: null, loc: kloc } : this.convert(pair.value as YNode, stack);
      own.push([key, kloc, value]);
    }
    // Explicit keys win over merged ones; among merge sources the first one wins (YAML merge).
    const seen = new Set(own.map(([k]) => k));
    const entries: [string, Location, Node][] = [];
    for (const e of merged) {
      if (seen.has(e[0])) continue;
      seen.add(e[0]);
      entries.push(e);
    }
    return mapNode(loc, [...entries, ...own], tag);
  }

  private mergeSources(v: YNode | null, loc: Location, stack: Set<YNode>): [string, Location, Node][] {
    const sources = v && isSeq(v) ? (v.items as YNode[]) : v ? [v] : [];
    const out: [string, Location, Node][] = [];
    for (const s of sources) {
      const node = this.convert(s, stack);
      if (node.kind !== 'map') {
        this.error(node.loc, 'YAML_SYNTAX', 'a merge key (<<) takes a mapping or a list of mappings');
        continue;
      }
      for (const [k, v2] of node.entries) out.push([k, node.keys.get(k) ?? v2.loc, v2]);
    }
    return out;
  }
}

/** `<<` written plain (a quoted '<<' is an ordinary key). */
function isMergeKey(k: YNode | null): boolean {
  if (!isScalar(k) || (k.type && k.type !== 'PLAIN')) return false;
  const v = k.value;
  return v === '<<' || (typeof v === 'symbol' && v.description === '<<');
}

function withTag<N extends Node>(n: N, tag: MergeTag | undefined): N {
  return tag ? { ...n, tag } : n;
}

const sizes = new WeakMap<Node, number>();
function size(n: Node): number {
  const known = sizes.get(n);
  if (known !== undefined) return known;
  let s = 1;
  if (n.kind === 'map') for (const v of n.entries.values()) s += size(v);
  else if (n.kind === 'seq') for (const v of n.items) s += size(v);
  sizes.set(n, s);
  return s;
}
