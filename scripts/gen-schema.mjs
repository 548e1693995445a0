// Writes schema/stack.schema.json (for editors) and src/spec/accepts.generated.ts (the fast
// acceptance check: scripts/spec-accepts.mjs) from the zod schema compiled to dist/ by
// `npm run build`. The unit tests test/unit/spec-validate/json-schema.test.ts and accepts.test.ts
// fail when a checked-in file is stale.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { specAcceptsSource } from './spec-accepts.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { specSchema, toJsonSchema } = await import(join(root, 'dist/spec/schema.js'));
const { z } = await import(join(root, 'dist/zod.js'));
const out = join(root, 'schema/stack.schema.json');
writeFileSync(out, JSON.stringify(toJsonSchema(), null, 2) + '\n');
console.log(`wrote ${out}`);
const accepts = join(root, 'src/spec/accepts.generated.ts');
writeFileSync(accepts, specAcceptsSource(z, specSchema));
console.log(`wrote ${accepts}`);
