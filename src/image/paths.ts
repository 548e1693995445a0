// Where the image store lives: beside volumes on the persistent side of the state root
// (/var/lib/stack/image-store, or $STACK_ROOT/lib/image-store), so pulled images outlive reboots.
import { join } from 'node:path';
import type { StateRoots } from '../state/paths.js';

/** The root folder of the content-addressed image store (blobs/, layers/, images/, locks/). */
export function imageStoreDir(roots: StateRoots): string {
  return join(roots.lib, 'image-store');
}

/** The folders of an image service's layers (its imageRoot's ChainIDs), lowest first. */
export function imageLayerDirs(roots: StateRoots, imageRoot: { readonly layers: readonly string[] }): string[] {
  const store = imageStoreDir(roots);
  return imageRoot.layers.map((chainId) => layerDirIn(store, chainId));
}

/** The folder of an unpacked layer, by its ChainID (`sha256:<hex>`), under a store root. */
export function layerDirIn(storeRoot: string, chainId: string): string {
  const hex = /^sha256:([a-f0-9]{64})$/.exec(chainId)?.[1];
  if (hex === undefined) throw new Error(`not a sha256 ChainID: ${JSON.stringify(chainId.slice(0, 80))}`);
  return join(storeRoot, 'layers', hex);
}
