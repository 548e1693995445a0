// Where the image store lives: beside volumes on the persistent side of the state root
// (/var/lib/stack/image-store, or $STACK_ROOT/lib/image-store), so pulled images outlive reboots.
import { join } from 'node:path';
import type { StateRoots } from '../state/paths.js';

/** The root folder of the content-addressed image store (blobs/, layers/, images/, locks/). */
export function imageStoreDir(roots: StateRoots): string {
  return join(roots.lib, 'image-store');
}
