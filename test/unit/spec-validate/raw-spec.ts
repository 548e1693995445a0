// Test helper: a RawSpec from a YAML string (one file, no interpolation), with real positions,
// so validation and normalization are tested without the loading half.
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import type { KeyPath, Location, RawSpec } from '../../../src/spec/raw.js';

/** Parses `text` as the spec file `file` in `workingDir`. */
export function rawSpec(
  text: string,
  opts: { file?: string; workingDir?: string; projectName?: string; env?: Record<string, string> } = {},
): RawSpec {
  const workingDir = opts.workingDir ?? '/proj';
  const file = opts.file ?? `${workingDir}/stack.yaml`;
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, merge: true });
  if (doc.errors.length > 0) throw new Error(`bad test YAML: ${doc.errors[0]!.message}`);
  const at = (offset: number): Location => {
    const p = lines.linePos(offset);
    return { file, line: p.line, col: p.col };
  };
  return {
    doc: (doc.toJS() ?? {}) as Record<string, unknown>,
    files: [file],
    workingDir,
    projectName: opts.projectName ?? 'proj',
    env: opts.env ?? {},
    warnings: [],
    locate(path: KeyPath): Location | undefined {
      let node: unknown = doc.contents;
      let best: Location | undefined = node && (node as Node).range ? at((node as Node).range![0]) : undefined;
      for (const step of path) {
        if (isMap(node)) {
          const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(step));
          if (!pair) break;
          const key = pair.key as Node;
          best = key.range ? at(key.range[0]) : best;
          node = pair.value;
        } else if (isSeq(node) && typeof step === 'number') {
          const item = node.items[step] as Node | undefined;
          if (!item) break;
          best = item.range ? at(item.range[0]) : best;
          node = item;
        } else break;
      }
      return best;
    },
  };
}
