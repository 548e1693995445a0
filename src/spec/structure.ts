// Structure validation as loading a spec runs it: the merged document is first given to the
// check generated from the zod schema (accepts.generated.ts, scripts/spec-accepts.mjs), which
// is true only when validation would find nothing in it; any other document loads zod and the
// schema (validate.ts), to say what and where (or that it is fine after all: the check refuses
// a few documents validation accepts). The top-level `version:` key compose files still carry
// is cosmetic: one warning, and the rest of the document on the fast path.
import type { Diagnostic } from './diagnostics.js';
import { emptySpec, nameFindings, keyDiagnostic } from './findings.js';
import type { RawSpec } from './raw.js';

/** Every structural finding about `raw.doc`: errors and warnings (validate.ts's, in its order). */
export async function checkStructure(raw: RawSpec): Promise<Diagnostic[]> {
  const empty = emptySpec(raw);
  if (empty) return [empty];
  const doc = raw.doc;
  const versioned = Object.hasOwn(doc, 'version');
  // a chunk of its own in the bundle, kept compact there (scripts/bundle.mjs)
  const { default: acceptsSpec } = await import('./accepts.generated.js');
  const { version: _version, ...unversioned } = doc;
  if (acceptsSpec(unversioned)) {
    const out = nameFindings(raw);
    if (versioned) out.push(keyDiagnostic([], 'version', raw));
    return out;
  }
  const { validate } = await import('./validate.js');
  return validate(raw);
}
