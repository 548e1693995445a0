// findImage: how `stack rmi` finds records as `docker rmi` does: a short or full name, a
// name@digest, a full image ID or a unique prefix of at least 4 hex digits.
import { describe, expect, it } from 'vitest';
import { findImage } from '../../../src/image/remove.js';
import type { ImageRecord } from '../../../src/image/store.js';

const rec = (name: string, config: string, digest = `sha256:${'d'.repeat(64)}`): ImageRecord => ({
  name, digest, manifestDigest: digest, configDigest: `sha256:${config}`, platform: 'linux/amd64', layers: [], pulledAt: '',
});
const pg = rec('docker.io/library/postgres:16', `abcd1234${'0'.repeat(56)}`, `sha256:${'e'.repeat(64)}`);
const pgLatest = rec('docker.io/library/postgres:latest', `abcd1234${'0'.repeat(56)}`);
const redis = rec('docker.io/library/redis:7', `abcf${'1'.repeat(60)}`);
const all = [pg, pgLatest, redis];

describe('findImage', () => {
  it('finds by the name as `stack images` shows it, or the full one', () => {
    expect(findImage(all, 'postgres:16', false)).toEqual([pg]);
    expect(findImage(all, 'docker.io/library/postgres:16', false)).toEqual([pg]);
    expect(findImage(all, 'postgres', false)).toEqual([pgLatest]);
    expect(findImage(all, `postgres@sha256:${'e'.repeat(64)}`, false)).toEqual([pg]);
  });
  it('finds by a unique image ID prefix (4+ hex, with or without sha256:) or the full ID', () => {
    expect(findImage(all, 'abcf', false)).toEqual([redis]);
    expect(findImage(all, `sha256:abcf${'1'.repeat(60)}`, false)).toEqual([redis]);
    expect(findImage(all, `abcf${'1'.repeat(60)}`, false)).toEqual([redis]);
  });
  it('refuses an ambiguous prefix, and an ID several names share unless forced', () => {
    expect(() => findImage(all, 'abc', false)).toThrow(expect.objectContaining({ code: 'IMAGE_NOT_FOUND' }));
    expect(() => findImage(all, 'abc1', false)).toThrow(expect.objectContaining({ code: 'IMAGE_NOT_FOUND' }));
    expect(() => findImage([...all, rec('docker.io/library/x:1', `abcd9${'2'.repeat(59)}`)], 'abcd', false)).toThrow(expect.objectContaining({ code: 'IMAGE_ID_AMBIGUOUS' }));
    expect(() => findImage(all, 'abcd1234', false)).toThrow(expect.objectContaining({ code: 'IMAGE_ID_SHARED' }));
    expect(findImage(all, 'abcd1234', true)).toEqual([pg, pgLatest]);
  });
  it('an unknown image is IMAGE_NOT_FOUND naming it', () => {
    expect(() => findImage(all, 'mysql:8', false)).toThrow(/no such image: mysql:8/);
  });
});
