// Writes schema/stack.schema.json from the zod schema (compiled to dist/ by `npm run build`).
// The unit test test/unit/spec-validate/json-schema.test.ts fails when the checked-in file is stale.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { toJsonSchema } = await import(join(root, 'dist/spec/schema.js'));
const out = join(root, 'schema/stack.schema.json');
writeFileSync(out, JSON.stringify(toJsonSchema(), null, 2) + '\n');
console.log(`wrote ${out}`);
