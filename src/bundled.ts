// Whether this code runs from the esbuild bundle (dist/bundle/, scripts/bundle.mjs) rather than
// from tsc's dist/ or from src/ under a test runner: the bundle spawns the bundled supervisor and
// reaper, and dist/ its own.
declare const STACK_BUNDLED: boolean | undefined;

/** True in dist/bundle/ (esbuild's define replaces STACK_BUNDLED), false elsewhere. */
export const bundled: boolean = typeof STACK_BUNDLED !== 'undefined' && STACK_BUNDLED === true;
