// A compose `platform:` read as Docker reads it (containerd's platforms package): os, architecture
// and variant normalized (x86_64 → amd64, aarch64 → arm64/v8, armhf → arm/v7), the host's platform
// by default. Pure; lives in spec so the Service model can carry it (src/image re-exports it).
import { UserError } from '../errors.js';

/** A normalized platform: lowercase, canonical architecture, arm variants always set. */
export interface PlatformSpec {
  readonly os: string;
  readonly architecture: string;
  /** `v8` for arm64, `v5`…`v8` for arm, `v1`…`v4` possibly for amd64, else empty. */
  readonly variant: string;
}

const KNOWN_OS = new Set(['aix', 'android', 'darwin', 'dragonfly', 'freebsd', 'hurd', 'illumos', 'ios', 'js', 'linux', 'nacl', 'netbsd', 'openbsd', 'plan9', 'solaris', 'wasi', 'wasip1', 'windows', 'zos']);
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

/** Whether this machine stores numbers little-endian (os.endianness without node:os, so the planner may use this file). */
function littleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}

/** The platform this process runs on, from process.arch (arm's variant from Node's build). */
export function hostPlatform(arch: string = process.arch): PlatformSpec {
  const architecture = ({ x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', mipsel: 'mipsle', riscv64: 'riscv64', s390x: 's390x', loong64: 'loong64', mips: 'mips' } as Record<string, string>)[arch]
    ?? (arch === 'ppc64' ? (littleEndian() ? 'ppc64le' : 'ppc64') : arch);
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
