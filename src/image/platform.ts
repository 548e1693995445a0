// Choosing an image for a platform as Docker does (containerd's platforms package): os,
// architecture and variant normalized (x86_64 → amd64, aarch64 → arm64/v8, armhf → arm/v7), the
// host's platform by default, and an ordered list of what a platform can run (arm64 runs arm/v7,
// amd64 runs 386) so the best entry of an index wins.
import { UserError } from '../errors.js';
import type { Descriptor, ImageConfig, ImageIndex } from './manifest.js';
import { MediaType } from './manifest.js';
import { formatPlatform, normalizePlatform, type PlatformSpec } from '../spec/platform.js';

export { formatPlatform, hostPlatform, normalizePlatform, parsePlatform, type PlatformSpec } from '../spec/platform.js';

/** What a platform runs, best first: itself, then older variants, then 32-bit compatible ones. */
export function compatiblePlatforms(p: PlatformSpec): PlatformSpec[] {
  const out: PlatformSpec[] = [p];
  const level = /^v(\d+)$/.exec(p.variant);
  const n = level ? Number(level[1]) : 0;
  const add = (architecture: string, variant: string): void => {
    out.push({ os: p.os, architecture, variant });
  };
  if (p.architecture === 'amd64') {
    for (let v = n; v >= 2; v--) if (v !== n) add('amd64', `v${v}`);
    if (n >= 2) add('amd64', '');
    add('386', '');
  } else if (p.architecture === 'arm64') {
    if (p.variant === 'v8') for (const v of ['v7', 'v6', 'v5']) add('arm', v);
  } else if (p.architecture === 'arm') {
    for (let v = n - 1; v >= 5; v--) add('arm', `v${v}`);
  }
  return out;
}

/** True when two normalized platforms are the same. */
function same(a: PlatformSpec, b: PlatformSpec): boolean {
  return a.os === b.os && a.architecture === b.architecture && a.variant === b.variant;
}

const RUNNABLE = new Set<string>([MediaType.ociManifest, MediaType.dockerManifest]);

/** An index entry that is an attestation or a signature, not an image (Docker's `unknown/unknown`). */
function isAttestation(d: Descriptor): boolean {
  return d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest'
    || (d.platform?.os === 'unknown' && d.platform.architecture === 'unknown');
}

/** The platforms an index offers (attestations left out), as `linux/amd64` strings. */
export function indexPlatforms(index: ImageIndex): string[] {
  const seen = new Set<string>();
  for (const d of index.manifests) {
    if (isAttestation(d) || !d.platform) continue;
    seen.add(formatPlatform(normalizePlatform(d.platform)));
  }
  return [...seen];
}

/** Picks the manifest for a platform from an index, as Docker does; throws UserError NO_MATCHING_PLATFORM. */
export function chooseManifest(index: ImageIndex, wanted: PlatformSpec, image: string): Descriptor {
  const candidates = index.manifests.filter((d) => RUNNABLE.has(d.mediaType) && !isAttestation(d));
  for (const p of compatiblePlatforms(wanted)) {
    const hit = candidates.find((d) => d.platform !== undefined && same(normalizePlatform(d.platform), p));
    if (hit) return hit;
  }
  // An entry without a platform may be anything: the last resort, its config checked afterwards.
  const untagged = candidates.find((d) => d.platform === undefined);
  if (untagged) return untagged;
  const offered = indexPlatforms(index);
  throw new UserError(
    'NO_MATCHING_PLATFORM',
    `image ${image} has no variant for ${formatPlatform(wanted)}; it has ${offered.length ? offered.join(', ') : 'no runnable platform'}`,
    offered.length ? `set \`platform:\` on the service to one of ${offered.join(', ')} if this machine can run it, or pick another image` : 'pick another image',
  );
}

/**
 * Checks an image config's platform against the wanted one: a mismatch is a UserError
 * NO_MATCHING_PLATFORM when the platform was asked for explicitly, else a warning to show (as Docker
 * runs a single-platform image of another architecture with a warning). Undefined when it fits.
 */
export function checkConfigPlatform(config: ImageConfig, wanted: PlatformSpec, image: string, explicit: boolean): string | undefined {
  const has = normalizePlatform(config);
  if (compatiblePlatforms(wanted).some((p) => same(p, has))) return undefined;
  const message = `image ${image} is for ${formatPlatform(has)}, not ${formatPlatform(wanted)}`;
  if (explicit) throw new UserError('NO_MATCHING_PLATFORM', message, `set \`platform: ${formatPlatform(has)}\` if this machine can run it, or pick another image`);
  return message;
}
