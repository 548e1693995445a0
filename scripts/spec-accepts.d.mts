// Types of scripts/spec-accepts.mjs for the test that compares its output with the checked-in file.
/** The TypeScript source of src/spec/accepts.generated.ts, given zod and the spec's schema. */
export function specAcceptsSource(z: unknown, specSchema: unknown): string;
