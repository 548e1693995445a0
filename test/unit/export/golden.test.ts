// Golden files of `stack export kube`: the repo's example projects (examples/) and a handful of
// awesome-compose files (copied into test/fixtures/export/awesome-compose) exported and compared
// with test/fixtures/export/golden/*.yaml: the warnings (as comments) then the manifests, or the
// refusal. UPDATE_GOLDEN=1 rewrites them. Every manifest is validated against the Kubernetes
// schema and the checks a schema cannot make.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { loadProject } from '../../../src/spec/index.js';
import { exportKube, formatWarning, renderStream } from '../../../src/export/index.js';
import { invariantErrors, schemaErrors } from './kube-check.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const FIXTURES = join(ROOT, 'test/fixtures/export');
const GOLDEN = join(FIXTURES, 'golden');

const examples = readdirSync(join(ROOT, 'examples'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => ({ name: `example-${d.name}`, dir: join(ROOT, 'examples', d.name), file: undefined as string | undefined }));
const awesome = readdirSync(join(FIXTURES, 'awesome-compose'))
  .filter((f) => f.endsWith('.compose.yaml'))
  .map((f) => ({ name: `awesome-${basename(f, '.compose.yaml').toLowerCase()}`, dir: join(FIXTURES, 'awesome-compose'), file: f }));

/** The export of one fixture as golden text; paths of this checkout written as <repo>. */
async function render(c: { name: string; dir: string; file?: string }): Promise<{ text: string; objects: ReturnType<typeof exportKube>['objects'] }> {
  const env = {};
  const { project } = await loadProject({ cwd: c.dir, files: c.file ? [c.file] : undefined, projectName: c.name, env });
  let text: string;
  let objects: ReturnType<typeof exportKube>['objects'] = [];
  try {
    const r = exportKube(project, { serviceType: 'LoadBalancer', services: [], env });
    objects = r.objects;
    text = r.warnings.map((w) => `# ${formatWarning(w)}\n`).join('') + renderStream(r.objects);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    text = `# refused (${e.code}): ${e.message.replaceAll('\n', '\n# ')}\n# hint: ${e.hint}\n`;
  }
  return { text: text.replaceAll(ROOT, '<repo>'), objects };
}

describe('stack export kube golden files', () => {
  it('has fixtures: both examples and at least five awesome-compose files', () => {
    expect(examples.length).toBeGreaterThanOrEqual(2);
    expect(awesome.length).toBeGreaterThanOrEqual(5);
  });

  for (const c of [...examples, ...awesome]) {
    it(`${c.name}: matches its golden file, every manifest valid`, async () => {
      const { text, objects } = await render(c);
      const golden = join(GOLDEN, `${c.name}.yaml`);
      if (process.env.UPDATE_GOLDEN === '1' || !existsSync(golden)) {
        if (process.env.CI === 'true') throw new Error(`golden file ${golden} is missing (run with UPDATE_GOLDEN=1)`);
        writeFileSync(golden, text);
      }
      expect(text).toBe(readFileSync(golden, 'utf8'));
      expect(objects.map(schemaErrors).filter(Boolean)).toEqual([]);
      expect(invariantErrors(objects)).toEqual([]);
    });
  }
});
