// A platform is chosen from an index as Docker chooses it: normalized names, the host's platform
// by default, the best compatible entry, attestations skipped, and a UserError listing what the
// image has when nothing fits.
import { describe, expect, test } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { MediaType, type ImageConfig, type ImageIndex } from '../../../src/image/manifest.js';
import {
  checkConfigPlatform, chooseManifest, compatiblePlatforms, formatPlatform, hostPlatform, indexPlatforms, normalizePlatform,
  parsePlatform,
} from '../../../src/image/platform.js';

const IMAGE = 'postgres:16';
const d = (c: string): string => `sha256:${c.repeat(64)}`;
const entry = (c: string, os: string, architecture: string, variant?: string, extra: object = {}) => ({
  mediaType: MediaType.ociManifest, digest: d(c), size: 1,
  platform: { os, architecture, ...(variant === undefined ? {} : { variant }) }, ...extra,
});
const idx = (...manifests: ImageIndex['manifests']): ImageIndex => ({ schemaVersion: 2, manifests });
const attestation = (c: string) => ({
  ...entry(c, 'unknown', 'unknown'), annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': d('a') },
});
// Like Docker Hub's official images.
const official = idx(
  entry('a', 'linux', 'amd64'), entry('b', 'linux', 'arm', 'v5'), entry('c', 'linux', 'arm', 'v7'),
  entry('e', 'linux', 'arm64', 'v8'), entry('f', 'linux', '386'), entry('9', 'linux', 'ppc64le'), attestation('0'), attestation('1'),
);
const P = (s: string) => parsePlatform(s);

describe('normalizing', () => {
  test.each([
    [{ os: 'linux', architecture: 'x86_64' }, 'linux/amd64'],
    [{ os: 'Linux', architecture: 'AMD64' }, 'linux/amd64'],
    [{ os: 'linux', architecture: 'x86-64', variant: 'v1' }, 'linux/amd64'],
    [{ os: 'linux', architecture: 'amd64', variant: 'v3' }, 'linux/amd64/v3'],
    [{ os: 'linux', architecture: 'aarch64' }, 'linux/arm64/v8'],
    [{ os: 'linux', architecture: 'arm64' }, 'linux/arm64/v8'],
    [{ os: 'linux', architecture: 'arm64', variant: '8' }, 'linux/arm64/v8'],
    [{ os: 'linux', architecture: 'arm' }, 'linux/arm/v7'],
    [{ os: 'linux', architecture: 'arm', variant: '6' }, 'linux/arm/v6'],
    [{ os: 'linux', architecture: 'armhf' }, 'linux/arm/v7'],
    [{ os: 'linux', architecture: 'armel' }, 'linux/arm/v6'],
    [{ os: 'linux', architecture: 'i386' }, 'linux/386'],
    [{ os: 'macos', architecture: 'arm64' }, 'darwin/arm64/v8'],
    [{ os: 'linux', architecture: 'riscv64' }, 'linux/riscv64'],
  ])('%j → %s', (p, expected) => {
    expect(formatPlatform(normalizePlatform(p))).toBe(expected);
  });

  test('the host platform comes from process.arch', () => {
    expect(formatPlatform(hostPlatform('x64'))).toBe('linux/amd64');
    expect(formatPlatform(hostPlatform('arm64'))).toBe('linux/arm64/v8');
    expect(formatPlatform(hostPlatform('ia32'))).toBe('linux/386');
    expect(formatPlatform(hostPlatform('s390x'))).toBe('linux/s390x');
    expect(hostPlatform().os).toBe('linux');
    expect(hostPlatform().architecture).toBe(({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[process.arch] ?? hostPlatform().architecture);
  });
});

describe('platform: strings', () => {
  test.each([
    ['linux/amd64', 'linux/amd64'], ['linux/arm64/v8', 'linux/arm64/v8'], ['linux/arm64', 'linux/arm64/v8'],
    ['linux/arm/v7', 'linux/arm/v7'], ['linux/arm', 'linux/arm/v7'], ['LINUX/X86_64', 'linux/amd64'], ['arm64', 'linux/arm64/v8'],
    ['linux/aarch64', 'linux/arm64/v8'], [' linux/amd64 ', 'linux/amd64'],
  ])('%j → %s', (text, expected) => {
    expect(formatPlatform(parsePlatform(text))).toBe(expected);
  });

  test('a bare OS takes the host\'s architecture', () => {
    expect(parsePlatform('linux', hostPlatform('arm64'))).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
  });

  test.each(['', '/', 'linux/', 'linux/amd64/v8/x', 'linux amd64', 'linux/amd64;rm', 'bogus/amd64', 'linux/ä', 'x'.repeat(10_000)])('%j is refused', (text) => {
    try {
      parsePlatform(text);
    } catch (e) {
      expect(e).toBeInstanceOf(UserError);
      expect((e as UserError).code).toBe('BAD_PLATFORM');
      expect((e as UserError).message.length).toBeLessThan(300);
      return;
    }
    throw new Error('accepted');
  });
});

describe('choosing from an index', () => {
  test.each([
    ['linux/amd64', 'a'], ['linux/arm64', 'e'], ['linux/arm/v7', 'c'], ['linux/arm/v6', 'b'], ['linux/arm/v5', 'b'],
    ['linux/386', 'f'], ['linux/ppc64le', '9'],
  ])('%s gets %s', (platform, digest) => {
    expect(chooseManifest(official, P(platform), IMAGE).digest).toBe(d(digest));
  });

  test('an index\'s own spellings are normalized (x86_64, aarch64 without variant)', () => {
    const i = idx(entry('a', 'linux', 'x86_64'), entry('b', 'linux', 'aarch64'));
    expect(chooseManifest(i, P('linux/amd64'), IMAGE).digest).toBe(d('a'));
    expect(chooseManifest(i, P('linux/arm64/v8'), IMAGE).digest).toBe(d('b'));
  });

  test('fallbacks in Docker\'s order: arm64 runs arm/v7 before arm/v6; amd64 runs 386; an exact match wins over a fallback wherever it is', () => {
    expect(chooseManifest(idx(entry('b', 'linux', 'arm', 'v6'), entry('c', 'linux', 'arm', 'v7')), P('linux/arm64'), IMAGE).digest).toBe(d('c'));
    expect(chooseManifest(idx(entry('f', 'linux', '386')), P('linux/amd64'), IMAGE).digest).toBe(d('f'));
    expect(chooseManifest(idx(entry('f', 'linux', '386'), entry('a', 'linux', 'amd64')), P('linux/amd64'), IMAGE).digest).toBe(d('a'));
    expect(chooseManifest(idx(entry('a', 'linux', 'amd64'), entry('3', 'linux', 'amd64', 'v3')), P('linux/amd64/v3'), IMAGE).digest).toBe(d('3'));
    expect(chooseManifest(idx(entry('3', 'linux', 'amd64', 'v3'), entry('a', 'linux', 'amd64')), P('linux/amd64'), IMAGE).digest).toBe(d('a'));
  });

  test('the first of equal entries wins; other OSes and nested indexes are not chosen', () => {
    const i = idx(entry('w', 'windows', 'amd64'), { ...entry('n', 'linux', 'amd64'), mediaType: MediaType.ociIndex }, entry('a', 'linux', 'amd64'), entry('b', 'linux', 'amd64'));
    expect(chooseManifest(i, P('linux/amd64'), IMAGE).digest).toBe(d('a'));
  });

  test('nothing fits: NO_MATCHING_PLATFORM lists the platforms, attestations left out', () => {
    const i = idx(entry('e', 'linux', 'arm64', 'v8'), entry('9', 'linux', 'ppc64le'), attestation('0'));
    try {
      chooseManifest(i, P('linux/amd64'), IMAGE);
      throw new Error('chosen');
    } catch (e) {
      expect(e).toBeInstanceOf(UserError);
      const u = e as UserError;
      expect(u.code).toBe('NO_MATCHING_PLATFORM');
      expect(u.message).toBe('image postgres:16 has no variant for linux/amd64; it has linux/arm64/v8, linux/ppc64le');
      expect(u.hint).toContain('platform:');
    }
    expect(indexPlatforms(official)).toEqual(['linux/amd64', 'linux/arm/v5', 'linux/arm/v7', 'linux/arm64/v8', 'linux/386', 'linux/ppc64le']);
  });

  test('an index of only attestations has no runnable platform; an attestation is never chosen even for unknown/unknown', () => {
    expect(() => chooseManifest(idx(attestation('0')), P('linux/amd64'), IMAGE)).toThrow(/no runnable platform/);
    expect(() => chooseManifest(idx(attestation('0')), normalizePlatform({ os: 'unknown', architecture: 'unknown' }), IMAGE)).toThrow(UserError);
  });

  test('attestations are known by platform unknown/unknown alone, or by their annotation alone', () => {
    const byPlatform = entry('0', 'unknown', 'unknown');
    const byAnnotation = { ...entry('1', 'linux', 'amd64'), annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } };
    expect(indexPlatforms(idx(byPlatform, entry('e', 'linux', 'arm64')))).toEqual(['linux/arm64/v8']);
    expect(() => chooseManifest(idx(byPlatform), normalizePlatform({ os: 'unknown', architecture: 'unknown' }), IMAGE)).toThrow(/no runnable platform/);
    expect(chooseManifest(idx(byAnnotation, entry('a', 'linux', 'amd64')), P('linux/amd64'), IMAGE).digest).toBe(d('a'));
  });

  test('an entry without a platform is the last resort', () => {
    const bare = { mediaType: MediaType.ociManifest, digest: d('7'), size: 1 };
    expect(chooseManifest(idx(bare, entry('a', 'linux', 'amd64')), P('linux/amd64'), IMAGE).digest).toBe(d('a'));
    expect(chooseManifest(idx(bare, entry('e', 'linux', 'arm64')), P('linux/amd64'), IMAGE).digest).toBe(d('7'));
  });

  test('the compatibility lists', () => {
    expect(compatiblePlatforms(P('linux/arm64')).map(formatPlatform)).toEqual(['linux/arm64/v8', 'linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5']);
    expect(compatiblePlatforms(P('linux/amd64/v3')).map(formatPlatform)).toEqual(['linux/amd64/v3', 'linux/amd64/v2', 'linux/amd64', 'linux/386']);
    expect(compatiblePlatforms(P('linux/arm/v6')).map(formatPlatform)).toEqual(['linux/arm/v6', 'linux/arm/v5']);
    expect(compatiblePlatforms(P('linux/s390x')).map(formatPlatform)).toEqual(['linux/s390x']);
  });
});

describe('a single-platform image\'s config', () => {
  const config = (architecture: string, variant?: string): ImageConfig => ({
    os: 'linux', architecture, ...(variant ? { variant } : {}), rootfs: { type: 'layers', diff_ids: [] },
  });
  test('fits, warns, or refuses when the platform was asked for', () => {
    expect(checkConfigPlatform(config('amd64'), P('linux/amd64'), IMAGE, true)).toBeUndefined();
    expect(checkConfigPlatform(config('arm', 'v7'), P('linux/arm64'), IMAGE, true)).toBeUndefined();
    expect(checkConfigPlatform(config('arm64'), P('linux/amd64'), IMAGE, false)).toBe('image postgres:16 is for linux/arm64/v8, not linux/amd64');
    expect(() => checkConfigPlatform(config('arm64'), P('linux/amd64'), IMAGE, true)).toThrow(expect.objectContaining({ code: 'NO_MATCHING_PLATFORM' }));
  });
});
