// Manifests and configs from a registry are hostile bytes: each kind parses by its Content-Type
// (or its own mediaType when the header says nothing), the digest of the exact bytes is checked,
// and anything else is a UserError naming the image.
import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { UserError } from '../../../src/errors.js';
import {
  MediaType, checkLayersMatchConfig, digestOf, layerKind, parseImageConfig, parseManifest, type ParsedManifest,
} from '../../../src/image/manifest.js';

const IMAGE = 'localhost:5000/app:1';
const enc = (v: unknown): Uint8Array => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
const sha = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const fake = (c: string): string => `sha256:${c.repeat(64)}`;

const ociManifest = {
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  config: { mediaType: MediaType.ociConfig, digest: fake('c'), size: 1234 },
  layers: [
    { mediaType: MediaType.ociLayerGzip, digest: fake('1'), size: 100 },
    { mediaType: MediaType.ociLayerZstd, digest: fake('2'), size: 200 },
  ],
};
const dockerManifest = {
  schemaVersion: 2,
  mediaType: MediaType.dockerManifest,
  config: { mediaType: MediaType.dockerConfig, digest: fake('c'), size: 1234 },
  layers: [{ mediaType: MediaType.dockerLayerGzip, digest: fake('1'), size: 100 }],
};
const index = (mediaType: string) => ({
  schemaVersion: 2,
  mediaType,
  manifests: [
    { mediaType: MediaType.ociManifest, digest: fake('a'), size: 500, platform: { os: 'linux', architecture: 'amd64' } },
    { mediaType: MediaType.ociManifest, digest: fake('b'), size: 500, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
  ],
});

function fails(f: () => unknown, code: string): UserError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).code).toBe(code);
    expect((e as UserError).message).toContain(IMAGE);
    expect((e as UserError).hint).toBeTruthy();
    return e as UserError;
  }
  throw new Error('accepted');
}

describe('the four manifest kinds', () => {
  test.each([
    ['OCI manifest', ociManifest, MediaType.ociManifest, 'manifest'],
    ['Docker schema 2', dockerManifest, MediaType.dockerManifest, 'manifest'],
    ['OCI index', index(MediaType.ociIndex), MediaType.ociIndex, 'index'],
    ['Docker manifest list', index(MediaType.dockerManifestList), MediaType.dockerManifestList, 'index'],
  ])('%s, by Content-Type, with its digest checked', (_name, doc, type, kind) => {
    const bytes = enc(doc);
    const parsed: ParsedManifest = parseManifest(bytes, `${type}; charset=utf-8`, { image: IMAGE, digest: sha(bytes) });
    expect(parsed.kind).toBe(kind);
    expect(parsed.mediaType).toBe(type);
    expect(parsed.digest).toBe(sha(bytes));
    if (parsed.kind === 'index') expect(parsed.index.manifests.map((m) => m.platform?.architecture)).toEqual(['amd64', 'arm64']);
    else expect(parsed.manifest.layers.length).toBe(doc === ociManifest ? 2 : 1);
  });

  test('a generic or missing Content-Type falls back to the mediaType field, then to the shape', () => {
    const withType = enc(dockerManifest);
    expect(parseManifest(withType, 'application/json', { image: IMAGE }).mediaType).toBe(MediaType.dockerManifest);
    const { mediaType: _m, ...bare } = index(MediaType.ociIndex);
    expect(parseManifest(enc(bare), undefined, { image: IMAGE }).kind).toBe('index');
    const { mediaType: _n, ...bareManifest } = ociManifest;
    expect(parseManifest(enc(bareManifest), '', { image: IMAGE }).kind).toBe('manifest');
    // OCI allows a manifest without mediaType when the Content-Type says what it is.
    expect(parseManifest(enc(bareManifest), MediaType.ociManifest, { image: IMAGE }).kind).toBe('manifest');
    fails(() => parseManifest(enc({ schemaVersion: 2 }), 'application/json', { image: IMAGE }), 'BAD_MANIFEST');
  });

  test('keys the schema does not know are kept, not refused', () => {
    const doc = { ...ociManifest, subject: { mediaType: MediaType.ociManifest, digest: fake('d'), size: 1 }, extra: 1 };
    const p = parseManifest(enc(doc), MediaType.ociManifest, { image: IMAGE });
    expect(p.kind === 'manifest' && (p.manifest as Record<string, unknown>).extra).toBe(1);
  });
});

describe('digests', () => {
  test('a manifest whose bytes do not have the digest asked for is DIGEST_MISMATCH naming both', () => {
    const bytes = enc(ociManifest);
    const e = fails(() => parseManifest(bytes, MediaType.ociManifest, { image: IMAGE, digest: fake('e') }), 'DIGEST_MISMATCH');
    expect(e.message).toContain(fake('e'));
    expect(e.message).toContain(sha(bytes));
  });

  test('the digest is of the exact bytes: the same JSON re-spaced is a mismatch', () => {
    const bytes = enc(ociManifest);
    const respaced = enc(JSON.stringify(ociManifest, null, 2));
    fails(() => parseManifest(respaced, MediaType.ociManifest, { image: IMAGE, digest: sha(bytes) }), 'DIGEST_MISMATCH');
  });

  test('sha512 digests are checked with sha512', () => {
    const bytes = enc(ociManifest);
    const d512 = `sha512:${createHash('sha512').update(bytes).digest('hex')}`;
    expect(parseManifest(bytes, MediaType.ociManifest, { image: IMAGE, digest: d512 }).digest).toBe(d512);
    expect(digestOf(bytes)).toBe(sha(bytes));
  });

  test('a malformed expected digest is refused, not compared', () => {
    fails(() => parseManifest(enc(ociManifest), MediaType.ociManifest, { image: IMAGE, digest: 'md5:abc' }), 'BAD_MANIFEST');
  });

  test('descriptors with malformed digests or sizes are refused', () => {
    for (const layer of [
      { mediaType: MediaType.ociLayerGzip, digest: 'sha256:xyz', size: 1 },
      { mediaType: MediaType.ociLayerGzip, digest: `sha256:${'A'.repeat(64)}`, size: 1 },
      { mediaType: MediaType.ociLayerGzip, digest: fake('1'), size: -1 },
      { mediaType: MediaType.ociLayerGzip, digest: fake('1'), size: 1.5 },
      { mediaType: MediaType.ociLayerGzip, digest: fake('1'), size: 2 ** 60 },
      { mediaType: MediaType.ociLayerGzip, digest: fake('1') },
    ]) {
      fails(() => parseManifest(enc({ ...ociManifest, layers: [layer] }), MediaType.ociManifest, { image: IMAGE }), 'BAD_MANIFEST');
    }
  });
});

describe('what is refused', () => {
  test('schema 1, by header, by mediaType or by schemaVersion, with a clear message', () => {
    const s1 = { schemaVersion: 1, name: 'app', tag: '1', fsLayers: [], history: [] };
    for (const type of [MediaType.dockerSchema1Signed, MediaType.dockerSchema1, 'application/json']) {
      const e = fails(() => parseManifest(enc(s1), type, { image: IMAGE }), 'BAD_MANIFEST');
      expect(e.message).toContain('schema 1');
    }
  });

  test('wrong media types: a Content-Type that is not a manifest, a body that contradicts it', () => {
    expect(fails(() => parseManifest(enc(ociManifest), 'text/html', { image: IMAGE }), 'BAD_MANIFEST').message).toContain('text/html');
    expect(fails(() => parseManifest(enc(ociManifest), MediaType.dockerManifest, { image: IMAGE }), 'BAD_MANIFEST').message)
      .toContain(`but the manifest says ${MediaType.ociManifest}`);
    fails(() => parseManifest(enc(ociManifest), MediaType.ociIndex, { image: IMAGE }), 'BAD_MANIFEST');
  });

  test('ambiguous documents: an index with layers, a manifest with manifests', () => {
    const both = { ...index(MediaType.ociIndex), config: ociManifest.config, layers: ociManifest.layers };
    expect(fails(() => parseManifest(enc(both), MediaType.ociIndex, { image: IMAGE }), 'BAD_MANIFEST').message).toContain('ambiguous');
    const m = { ...ociManifest, manifests: [] };
    expect(fails(() => parseManifest(enc(m), MediaType.ociManifest, { image: IMAGE }), 'BAD_MANIFEST').message).toContain('ambiguous');
  });

  test('an artifact (a Helm chart, a signature) is not an image', () => {
    const helm = { ...ociManifest, config: { mediaType: 'application/vnd.cncf.helm.config.v1+json', digest: fake('c'), size: 1 } };
    expect(fails(() => parseManifest(enc(helm), MediaType.ociManifest, { image: IMAGE }), 'BAD_MANIFEST').message).toContain('not a container image');
    const odd = { ...ociManifest, layers: [{ mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip', digest: fake('1'), size: 1 }] };
    expect(fails(() => parseManifest(enc(odd), MediaType.ociManifest, { image: IMAGE }), 'BAD_MANIFEST').message).toContain('not a filesystem layer');
  });

  test('hostile bytes: not JSON, not UTF-8, not an object, huge, deeply nested, prototype keys', () => {
    const cases: Uint8Array[] = [
      enc(''), enc('{'), enc('null'), enc('[]'), enc('"x"'), new Uint8Array([0xff, 0xfe, 0x7b, 0x7d]),
      new Uint8Array(5 * 1024 * 1024).fill(0x20), enc(`${'['.repeat(100_000)}${']'.repeat(100_000)}`),
      enc('{"schemaVersion":2,"__proto__":{"layers":[]},"config":{}}'),
      enc({ schemaVersion: 2, manifests: 'x' }), enc({ schemaVersion: '2', config: ociManifest.config, layers: [] }),
    ];
    for (const bytes of cases) {
      const e = fails(() => parseManifest(bytes, MediaType.ociManifest, { image: IMAGE }), 'BAD_MANIFEST');
      expect(e.message.length).toBeLessThan(600);
    }
  });
});

test('an oversized document is refused by its size before it is hashed or parsed', () => {
  const big = new Uint8Array(4 * 1024 * 1024 + 1).fill(0x20);
  expect(fails(() => parseManifest(big, MediaType.ociManifest, { image: IMAGE, digest: fake('0') }), 'BAD_MANIFEST').message).toContain('4194305 bytes');
  expect(fails(() => parseImageConfig(new Uint8Array(8 * 1024 * 1024 + 1), { image: IMAGE, digest: fake('0') }), 'BAD_MANIFEST').message).toContain('image config');
});

describe('layer media types', () => {
  test.each([
    [MediaType.ociLayer, 'none', false], [MediaType.ociLayerGzip, 'gzip', false], [MediaType.ociLayerZstd, 'zstd', false],
    [MediaType.dockerLayerGzip, 'gzip', false], [MediaType.dockerLayer, 'none', false], [MediaType.dockerLayerZstd, 'zstd', false],
    [MediaType.dockerLayerForeignGzip, 'gzip', true], [MediaType.ociLayerNonDistributableGzip, 'gzip', true],
    [MediaType.ociLayerNonDistributableZstd, 'zstd', true], [MediaType.ociLayerNonDistributable, 'none', true],
  ])('%s', (type, compression, foreign) => {
    expect(layerKind(type)).toEqual({ compression, foreign });
  });
  test('others are not layers, including Object.prototype names', () => {
    for (const t of ['application/octet-stream', 'toString', '__proto__', 'constructor', MediaType.ociConfig]) expect(layerKind(t)).toBeUndefined();
  });
});

describe('the image config', () => {
  const config = {
    architecture: 'amd64',
    os: 'linux',
    created: '2024-01-01T00:00:00Z',
    config: {
      User: 'postgres',
      ExposedPorts: { '5432/tcp': {} },
      Env: ['PATH=/usr/local/bin:/usr/bin', 'PGDATA=/var/lib/postgresql/data'],
      Entrypoint: ['docker-entrypoint.sh'],
      Cmd: ['postgres'],
      Volumes: { '/var/lib/postgresql/data': {} },
      WorkingDir: '/',
      StopSignal: 'SIGINT',
      Healthcheck: { Test: ['CMD-SHELL', 'pg_isready'], Interval: 5_000_000_000, Retries: 3 },
      Labels: null,
      OnBuild: null,
    },
    rootfs: { type: 'layers', diff_ids: [fake('d'), fake('e')] },
    history: [{ created_by: 'x' }, { created_by: 'y', empty_layer: true }],
  };

  test('every field stack honours parses, nulls as Docker writes them included', () => {
    const bytes = enc(config);
    const c = parseImageConfig(bytes, { image: IMAGE, digest: sha(bytes) });
    expect(c.config?.Entrypoint).toEqual(['docker-entrypoint.sh']);
    expect(c.config?.Cmd).toEqual(['postgres']);
    expect(c.config?.Env?.[1]).toBe('PGDATA=/var/lib/postgresql/data');
    expect(c.config?.User).toBe('postgres');
    expect(c.config?.WorkingDir).toBe('/');
    expect(c.config?.StopSignal).toBe('SIGINT');
    expect(c.config?.Healthcheck?.Test).toEqual(['CMD-SHELL', 'pg_isready']);
    expect(Object.keys(c.config?.Volumes ?? {})).toEqual(['/var/lib/postgresql/data']);
    expect(Object.keys(c.config?.ExposedPorts ?? {})).toEqual(['5432/tcp']);
    expect(c.rootfs.diff_ids).toHaveLength(2);
    const nulls = enc({ ...config, config: { Entrypoint: null, Cmd: null, Env: null, Healthcheck: null } });
    expect(parseImageConfig(nulls, { image: IMAGE }).config?.Entrypoint).toBeNull();
    expect(parseImageConfig(enc({ ...config, config: undefined }), { image: IMAGE }).config).toBeUndefined();
  });

  test('a config with the wrong digest, rootfs type, or malformed fields is refused', () => {
    fails(() => parseImageConfig(enc(config), { image: IMAGE, digest: fake('0') }), 'DIGEST_MISMATCH');
    for (const bad of [
      { ...config, rootfs: { type: 'other', diff_ids: [] } },
      { ...config, rootfs: { type: 'layers', diff_ids: ['nope'] } },
      { ...config, config: { ...config.config, Cmd: 'postgres' } },
      { ...config, config: { ...config.config, Env: [1] } },
      { ...config, config: { ...config.config, Healthcheck: { Interval: -1 } } },
      { ...config, architecture: undefined },
    ]) {
      fails(() => parseImageConfig(enc(bad), { image: IMAGE }), 'BAD_MANIFEST');
    }
  });

  test('layers and DiffIDs pair up one to one', () => {
    const c = parseImageConfig(enc(config), { image: IMAGE });
    const p = parseManifest(enc(ociManifest), MediaType.ociManifest, { image: IMAGE });
    if (p.kind !== 'manifest') throw new Error('not a manifest');
    expect(() => checkLayersMatchConfig(p.manifest, c, IMAGE)).not.toThrow();
    const one = { ...p.manifest, layers: p.manifest.layers.slice(0, 1) };
    expect(fails(() => checkLayersMatchConfig(one, c, IMAGE), 'BAD_MANIFEST').message).toContain('1 layer but the image config lists 2 DiffIDs');
  });
});
