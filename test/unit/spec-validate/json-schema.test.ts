import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, test } from 'vitest';
import { acceptedKeys, KEYS, type Level } from '../../../src/spec/keys.js';
import { levelSchemas, toJsonSchema } from '../../../src/spec/schema.js';

const checkedIn = resolve(import.meta.dirname, '../../../schema/stack.schema.json');

test('schema/stack.schema.json is the one the zod schema generates (run `npm run schema` when this fails)', () => {
  const fresh = JSON.stringify(toJsonSchema(), null, 2) + '\n';
  expect(readFileSync(checkedIn, 'utf8')).toBe(fresh);
});

test('the zod schema accepts exactly the supported and modelled keys of the catalogue, at every level', () => {
  const seen = new Set<Level>();
  for (const [level, schema] of levelSchemas) {
    seen.add(level);
    expect(Object.keys(schema.shape).sort(), level).toEqual(acceptedKeys(level).sort());
  }
  expect([...seen].sort()).toEqual((Object.keys(KEYS) as Level[]).sort());
});

test('editors get strict objects that allow x- keys, and cosmetic keys marked as ignored', () => {
  const json = toJsonSchema() as { properties: { services: { additionalProperties: Record<string, unknown> } } };
  const service = json.properties.services.additionalProperties as { additionalProperties: unknown; patternProperties: unknown; properties: Record<string, { description?: string }> };
  expect(service.additionalProperties).toBe(false);
  expect(service.patternProperties).toEqual({ '^x-': {} });
  expect(service.properties.logging?.description).toContain('ignores');
  expect(service.properties.blkio_config).toBeUndefined();
  expect(service.properties.secrets?.description).toContain('read-only');
  expect(Object.keys(service.properties)).toContain('image');
});
