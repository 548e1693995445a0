// Choosing an image for a platform as Docker does (containerd's platforms package): os,
// architecture and variant normalized (x86_64 → amd64, aarch64 → arm64/v8, armhf → arm/v7), the
// host's platform by default, and an ordered list of what a platform can run (arm64 runs arm/v7,
// amd64 runs 386) so the best entry of an index wins.
import { endianness } from 'node:os';
import { UserError } from '../errors.js';
import type { Descriptor, ImageConfig, ImageIndex } from './manifest.js';
import { MediaType } from './manifest.js';

/** A normalized platform: lowercase, canonical architecture, arm variants always set. */
export interface PlatformSpec {
  readonly os: string;
  readonly architecture: string;
  /** `v8` for arm64, `v5`…`v8` for arm, `v1`…`v4` possibly for amd64, else empty. */
  readonly variant: string;
}

const KNOWN_OS = new Set(['aix', 'android', 'darwin', 'dragonfly', 'freebsd', 'hurd', 'illumos', 'ios', 'js', 'linux', 'nacl', 'netbsd', 'openbsd', 'plan9', 'solaris', 'wasip1', 'windows', 'zos']);
const COMPONENT_RE = /^[a-z0-9_.-]{1,64}$/;

/** Normalizes os/architecture/variant as containerd does (x86_64 → amd64, aarch64 → arm64 v8, armhf → arm v7). */
export function normalizePlatform(p: { os: string; architecture: string; variant?: string | undefined }): PlatformSpec {
  let os = p.os.toLowerCase();
  if (os === 'macos') os = 'darwin';
  let architecture = p.architecture.toLowerCase();
  let variant = (p.variant ?? '').toLowerCase();
  switch (architecture) {
    case 'i386':
      architecture = '386';
      variant = '';
      break;
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      architecture = 'amd64';
      if (variant === 'v1') variant = '';
      break;
    case 'aarch64':
    case 'arm64':
      architecture = 'arm64';
      if (variant === '' || variant === '8' || variant === 'v8.0') variant = 'v8';
      break;
    case 'armhf':
      architecture = 'arm';
      variant = 'v7';
      break;
    case 'armel':
      architecture = 'arm';
      variant = 'v6';
      break;
    case 'arm':
      if (variant === '') variant = 'v7';
      else if (/^[5-8]$/.test(variant)) variant = `v${variant}`;
      break;
    default:
  }
  return { os, architecture, variant };
}

/** `linux/arm64/v8` (the variant left out when empty). */
export function formatPlatform(p: PlatformSpec): string {
  return [p.os, p.architecture, p.variant].filter((s) => s !== '').join('/');
}

/** The platform this process runs on, from process.arch (arm's variant from Node's build). */
export function hostPlatform(arch: string = process.arch): PlatformSpec {
  const architecture = ({ x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', mipsel: 'mipsle', riscv64: 'riscv64', s390x: 's390x', loong64: 'loong64', mips: 'mips' } as Record<string, string>)[arch]
    ?? (arch === 'ppc64' ? (endianness() === 'LE' ? 'ppc64le' : 'ppc64') : arch);
  let variant = '';
  if (architecture === 'arm') {
    const v = (process.config.variables as Record<string, unknown>).arm_version;
    variant = typeof v === 'string' || typeof v === 'number' ? `v${v}` : 'v7';
  }
  return normalizePlatform({ os: 'linux', architecture, variant });
}

/** Parses a compose `platform:` string (`linux/amd64`, `linux/arm64/v8`, `arm64`, `linux`); throws UserError BAD_PLATFORM. */
export function parsePlatform(text: string, host: PlatformSpec = hostPlatform()): PlatformSpec {
  const shown = JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
  const parts = text.trim().toLowerCase().split('/');
  const hint = 'a platform looks like `linux/amd64`, `linux/arm64/v8` or `linux/arm/v7`';
  if (parts.length > 3 || parts.some((p) => !COMPONENT_RE.test(p))) {
    throw new UserError('BAD_PLATFORM', `platform ${shown} is not os/architecture[/variant]`, hint);
  }
  if (parts.length === 1) {
    const only = parts[0]!;
    // One word is an OS (with the host's architecture) when it names one, else an architecture on linux.
    if (KNOWN_OS.has(only)) return normalizePlatform({ os: only, architecture: host.architecture, variant: host.variant });
    return normalizePlatform({ os: 'linux', architecture: only });
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  if (!KNOWN_OS.has(os)) throw new UserError('BAD_PLATFORM', `platform ${shown}: ${JSON.stringify(os)} is not an operating system`, hint);
  return normalizePlatform({ os, architecture, variant });
}

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
