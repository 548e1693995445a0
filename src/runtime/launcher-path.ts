// Where native/build/launcher is (scripts/build-native.mjs), found from src/, dist/ and the
// bundle alike: the services' launcher, and the wrapper that starts a supervisor in its
// project's monitor group (supervisor/control.ts).
import { fileURLToPath } from 'node:url';

/** The launcher built by `npm run build`. */
export const LAUNCHER_PATH = fileURLToPath(new URL('../../native/build/launcher', import.meta.url));
