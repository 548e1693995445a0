// The import graph of src/ against the layering of docs/architecture.md ("## Layers"), as
// .dependency-cruiser.cjs writes it: dependency-cruiser's cruise() over src, every violation
// listed. A second test cruises a small tree that breaks each kind of rule, so a config whose
// rules matched nothing would fail here instead of passing silently.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');

/** The violations of the tree under `baseDir`/src, one line each (`rule: from → to`, or the cycle). */
async function violations(baseDir: string): Promise<string[]> {
  const options = await extractDepcruiseOptions(CONFIG);
  const tsConfig = extractTSConfig(join(ROOT, 'tsconfig.json'));
  const result = await cruise(['src'], { ...options, baseDir, validate: true }, {}, { tsConfig });
  const output = result.output as ICruiseResult;
  return output.summary.violations.map(violationLine);
}

function violationLine(v: IViolation): string {
  const path = v.cycle?.length ? [v.from, ...v.cycle.map((c) => c.name)].join(' → ') : `${v.from} → ${v.to}`;
  return `${v.rule.name}: ${path}`;
}

it('src/ imports follow the layers, with no cycle', async () => {
  expect(await violations(ROOT)).toEqual([]);
}, 60_000);

describe('the rules catch what they forbid', () => {
  const base = mkdtempSync(join(tmpdir(), 'stack-layers-'));
  afterAll(() => rmSync(base, { recursive: true, force: true }));
  const files: Record<string, string> = {
    'src/errors.ts': 'export const e = 1;\n',
    'src/executor/apply.ts': "import { e } from '../errors.js';\nexport const apply = e;\n",
    'src/supervisor/main.ts': "import { apply } from '../executor/apply.js';\nexport const m = apply;\n",
    'src/runtime/launch.ts': "import { apply } from '../executor/apply.js';\nexport const l = apply;\n",
    'src/runtime/index.ts': "export { l } from './launch.js';\n",
    'src/executor/start.ts': "import { l } from '../runtime/index.js';\nimport { l as deep } from '../runtime/launch.js';\nexport const s = [l, deep];\n",
    'src/planner/plan.ts': "import { readFileSync } from 'node:fs';\nimport type { S } from '../state/live.js';\nexport const p = readFileSync;\nexport type P = S;\n",
    'src/state/live.ts': "import type { P } from '../planner/plan.js';\nexport type S = P;\n",
    'src/spec/a.ts': "import { b } from './b.js';\nexport const a = b;\n",
    'src/spec/b.ts': "import type { A } from './c.js';\nexport const b = 1;\nexport type B = A;\n",
    'src/spec/c.ts': "import { a } from './a.js';\nexport type A = typeof a;\n",
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(base, path)), { recursive: true });
    writeFileSync(join(base, path), text);
  }

  it('each violation of the small tree is listed', async () => {
    const found = await violations(base);
    expect(found).toEqual(
      expect.arrayContaining([
        'supervisor-not-executor: src/supervisor/main.ts → src/executor/apply.ts',
        'layer-runtime+network+state+image: src/runtime/launch.ts → src/executor/apply.ts',
        'layer-planner: src/planner/plan.ts → src/state/live.ts',
        'planner-no-io: src/planner/plan.ts → fs',
        'runtime-through-its-api: src/executor/start.ts → src/runtime/launch.ts',
        expect.stringMatching(/^no-circular: src\/spec\/(a|b|c)\.ts → /),
        expect.stringMatching(/^no-circular: src\/(planner\/plan|state\/live)\.ts → /),
      ]),
    );
    // The clean import of a leaf (errors.ts) from the executor is not a violation.
    expect(found.filter((f) => f.includes('src/executor/apply.ts → src/errors.ts'))).toEqual([]);
    // Nor is an import of the runtime through its API.
    expect(found.filter((f) => f.includes('→ src/runtime/index.ts'))).toEqual([]);
  }, 60_000);
});
