// Images made by hand for tests and pushed to a harness registry (registry.ts): layers from
// tars (tar.ts), gzipped, a config with the given `config` object and the host's platform, an
// OCI manifest under a tag. And a busybox root layer from the host's static busybox, for
// services that need a shell without an image build.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { hostPlatform } from '../../src/image/platform.js';
import { pushBlob, type TestRegistry } from './registry.js';
import { makeTar, type TarEntry } from './tar.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** `sha256:<hex>` of bytes. */
export function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A pushed image: its reference and digests. */
export interface PushedImage {
  readonly ref: string;
  readonly manifestDigest: string;
  readonly configDigest: string;
  readonly diffIds: readonly string[];
}

/** Pushes `layers` (uncompressed tars, lowest first) with `config` (the image config's `config` object) as `repo:tag`. */
export async function pushImage(reg: TestRegistry, repo: string, tag: string, layers: readonly Buffer[], config: Record<string, unknown>, auth?: string): Promise<PushedImage> {
  const { os, architecture } = hostPlatform();
  const diffIds = layers.map(sha256);
  const configBytes = Buffer.from(JSON.stringify({ architecture, os, config, rootfs: { type: 'layers', diff_ids: diffIds } }));
  const configDigest = await pushBlob(reg, repo, configBytes, auth);
  const descriptors = [];
  for (const layer of layers) {
    const blob = gzipSync(layer);
    descriptors.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: await pushBlob(reg, repo, blob, auth), size: blob.length });
  }
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: configBytes.length },
    layers: descriptors,
  }));
  const put = await fetch(`${reg.url}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'Content-Type': OCI_MANIFEST, ...(auth !== undefined && { Authorization: auth }) },
    body: manifest,
  });
  if (put.status !== 201) throw new Error(`pushing ${repo}:${tag}: registry answered ${put.status} ${await put.text()}`);
  return { ref: `${reg.host}/${repo}:${tag}`, manifestDigest: sha256(manifest), configDigest, diffIds };
}

/** Applets linked to busybox in the layer (enough for test services). */
const APPLETS = ['sh', 'cat', 'echo', 'ls', 'id', 'sleep', 'touch', 'mkdir', 'stat', 'printf', 'test', 'wc', 'env', 'pwd', 'nc', 'hostname', 'grep', 'kill', 'true', 'false', 'rm', 'sed', 'head', 'tr', 'date', 'cp', 'wget', 'httpd'];

/** A root layer: the host's static busybox at /bin/busybox with applet links, /etc/passwd and /etc/group with `users`. */
export async function busyboxLayer(users: readonly { name: string; uid: number; gid: number; home?: string }[] = [], extra: TarEntry[] = []): Promise<Buffer> {
  const passwd = ['root:x:0:0:root:/root:/bin/sh', ...users.map((u) => `${u.name}:x:${u.uid}:${u.gid}::${u.home ?? '/'}:/bin/sh`)].join('\n') + '\n';
  const group = ['root:x:0:', ...users.map((u) => `${u.name}:x:${u.gid}:`)].join('\n') + '\n';
  return makeTar([
    { header: { name: 'bin/', type: 'directory', mode: 0o755 } },
    { header: { name: 'bin/busybox', mode: 0o755 }, body: readFileSync('/bin/busybox') },
    ...APPLETS.map((a) => ({ header: { name: `bin/${a}`, type: 'symlink' as const, linkname: 'busybox', mode: 0o777 } })),
    { header: { name: 'etc/', type: 'directory', mode: 0o755 } },
    { header: { name: 'etc/passwd', mode: 0o644 }, body: passwd },
    { header: { name: 'etc/group', mode: 0o644 }, body: group },
    { header: { name: 'tmp/', type: 'directory', mode: 0o1777 } },
    ...extra,
  ]);
}
