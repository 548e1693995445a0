// Conformance: every compose file of test/fixtures/corpus (copies of public compose files, sources in its MANIFEST.tsv) either loads or is refused with a
// SpecError whose diagnostics name the key or the mistake; nothing else may escape.
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { formatDiagnostic, loadProject, SpecError } from '../../src/spec/index.js';

const corpus = resolve(import.meta.dirname, '../fixtures/corpus');
const folders = ['awesome-compose', 'compose-go', 'compose-spec'];
const files = existsSync(corpus)
  ? folders.flatMap((folder) =>
      existsSync(join(corpus, folder))
        ? readdirSync(join(corpus, folder))
            .filter((f) => /\.ya?ml$/.test(f))
            .sort()
            .map((f) => join(folder, f))
        : [],
    )
  : [];

/** Variables a file's own README tells its user to set (plex mounts ${PLEX_MEDIA_PATH}); without them compose refuses it too. */
const USER_SET = { PLEX_MEDIA_PATH: '/srv/media' };

const outcome: Record<string, { loaded: number; rejected: number }> = {};
const reasons = new Map<string, number>();
/** Every key path an awesome-compose file is refused for (secrets and configs must not be among them). */
const awesomeRefusals: string[] = [];

describe('corpus (test/fixtures/corpus)', () => {
  afterAll(() => {
    const lines = Object.entries(outcome).map(([f, o]) => `  ${f}: ${o.loaded} loaded, ${o.rejected} rejected`);
    const top = [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([r, n]) => `    ${String(n).padStart(3)}  ${r}`);
    console.log(`corpus: ${files.length} files\n${lines.join('\n')}\n  most frequent first errors of the rejected files:\n${top.join('\n')}`);
  });

  test.each(files)('%s', async (file) => {
    const folder = file.split('/')[0]!;
    const tally = (outcome[folder] ??= { loaded: 0, rejected: 0 });
    try {
      const { project } = await loadProject({ cwd: join(corpus, folder), files: [join(corpus, file)], env: { HOME: '/home/corpus', ...USER_SET } });
      expect(project.name).not.toBe('');
      tally.loaded++;
    } catch (e) {
      if (!(e instanceof SpecError)) throw e;
      tally.rejected++;
      const errors = e.diagnostics.filter((d) => d.severity === 'error');
      expect(errors.length).toBeGreaterThan(0);
      for (const d of errors) {
        expect(d.location ?? d.path, formatDiagnostic(d)).toBeDefined();
        expect(d.message).not.toMatch(/Invalid input|\u0000/);
      }
      if (folder === 'awesome-compose') awesomeRefusals.push(...errors.map((d) => `${file}: ${d.code} ${d.path?.join('.') ?? ''}`));
      const first = errors[0]!;
      const key = first.code === 'UNSUPPORTED' || first.code === 'UNKNOWN_KEY' ? ` ${String(first.path?.[first.path.length - 1])}` : '';
      reasons.set(first.code + key, (reasons.get(first.code + key) ?? 0) + 1);
    }
  });

  test('real-world stacks (awesome-compose) mostly load', () => {
    const o = outcome['awesome-compose'];
    if (!o) return;
    expect(o.loaded).toBeGreaterThan(o.rejected);
  });

  test('awesome-compose: all 39 files load (what up cannot run, such as a wasm runtime, is refused by up, not config)', () => {
    const o = outcome['awesome-compose'];
    expect(o).toBeDefined();
    expect(awesomeRefusals).toEqual([]);
    expect(o!.loaded).toBe(39);
  });

  test('plex without PLEX_MEDIA_PATH is refused as compose refuses it, the unset variable named beside the error', async () => {
    const file = join(corpus, 'awesome-compose', 'plex__compose.yaml');
    const error = await loadProject({ cwd: join(corpus, 'awesome-compose'), files: [file], env: { HOME: '/home/corpus' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SpecError);
    expect((error as SpecError).message).toMatch(/volumes\[0\]: cannot read this volume[\s\S]*the variable PLEX_MEDIA_PATH is not set/);
  });
});
