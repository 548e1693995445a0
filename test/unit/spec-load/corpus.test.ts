// Every file of test/fixtures/corpus either loads or is rejected with a SpecError, never a crash.
// Files there are flattened, so include/extends/env_file references may not resolve: that must
// be a clear SpecError too.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { SpecError } from '../../../src/spec/diagnostics.js';
import { loadRaw } from '../../../src/spec/load.js';

const CORPUS = resolve(__dirname, '../../fixtures/corpus');

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return yamlFiles(p);
    return /\.ya?ml$/.test(n) ? [p] : [];
  });
}

const files = yamlFiles(CORPUS).sort();

describe('corpus', () => {
  test('every file loads or is a SpecError', async () => {
    const outcomes = { loaded: 0, rejected: 0 };
    const crashes: string[] = [];
    for (const file of files) {
      try {
        await loadRaw({ cwd: dirname(file), files: [file], env: {}, projectName: 'corpus' });
        outcomes.loaded++;
      } catch (e) {
        if (e instanceof SpecError && e.diagnostics.length > 0 && e.diagnostics.every((d) => d.message)) outcomes.rejected++;
        else crashes.push(`${file}: ${e instanceof Error ? e.stack : String(e)}`);
      }
    }
    expect(crashes).toEqual([]);
    expect(outcomes.loaded + outcomes.rejected).toBe(files.length);
    // Most of the corpus is valid YAML with resolvable content; only broken references fail.
    expect(outcomes.loaded).toBeGreaterThan(files.length / 2);
  });

  test('the known bad files are rejected for their real reason', async () => {
    const load = (name: string): Promise<unknown> =>
      loadRaw({ cwd: CORPUS, files: [join(CORPUS, name)], env: {}, projectName: 'corpus' });
    await expect(load('compose-go/loader__testdata__empty.yaml')).rejects.toMatchObject({
      diagnostics: [expect.objectContaining({ code: 'EMPTY_FILE' })],
    });
    await expect(load('compose-go/loader__testdata__compose-include-cycle.yaml')).rejects.toMatchObject({
      diagnostics: [expect.objectContaining({ code: 'FILE_NOT_FOUND', message: expect.stringContaining('compose-include-cycle.yaml') })],
    });
  });
});
