#!/usr/bin/env node
// Edits an OCI image layout where umoci cannot, re-digesting what changes:
//   oci-edit.mjs healthcheck LAYOUT TAG JSON   sets the config's Healthcheck (Docker's field,
//                                              durations in ns; umoci has no flag for it)
//   oci-edit.mjs index LAYOUT TAG SRC_TAG...   writes an image index of the SRC_TAGs' manifests
//                                              (each with its config's platform) tagged TAG
// Blobs are written by digest; index.json's entry for TAG is replaced. Old blobs stay until
// `umoci gc`.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';

const REF = 'org.opencontainers.image.ref.name';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';

/** The path of blob `digest` in `layout`. */
const blobPath = (layout, digest) => join(layout, 'blobs', ...digest.split(':'));

/** Writes `bytes` as a blob; returns its digest. */
function putBlob(layout, bytes) {
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  writeFileSync(blobPath(layout, digest), bytes);
  return digest;
}

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

/** The layout's index.json and the entry tagged `tag`. */
function findTag(layout, tag) {
  const index = readJson(join(layout, 'index.json'));
  const entry = index.manifests.find((m) => m.annotations?.[REF] === tag);
  if (!entry) throw new Error(`${layout}: no tag ${tag}`);
  return { index, entry };
}

/** Replaces (or adds) the index.json entry tagged `tag`, atomically. */
function setTag(layout, tag, descriptor) {
  const index = readJson(join(layout, 'index.json'));
  index.manifests = index.manifests.filter((m) => m.annotations?.[REF] !== tag);
  index.manifests.push({ ...descriptor, annotations: { ...descriptor.annotations, [REF]: tag } });
  const tmp = join(layout, 'index.json.tmp');
  writeFileSync(tmp, JSON.stringify(index));
  renameSync(tmp, join(layout, 'index.json'));
}

const [cmd, layout, tag, ...rest] = process.argv.slice(2);
if (cmd === 'healthcheck') {
  const { entry } = findTag(layout, tag);
  const manifest = readJson(blobPath(layout, entry.digest));
  const config = readJson(blobPath(layout, manifest.config.digest));
  config.config = { ...config.config, Healthcheck: JSON.parse(rest[0]) };
  const configBytes = Buffer.from(JSON.stringify(config));
  manifest.config = { ...manifest.config, digest: putBlob(layout, configBytes), size: configBytes.length };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const { annotations, ...desc } = entry;
  setTag(layout, tag, { ...desc, mediaType: MANIFEST, digest: putBlob(layout, manifestBytes), size: manifestBytes.length });
} else if (cmd === 'index') {
  const manifests = rest.map((src) => {
    const { entry } = findTag(layout, src);
    const manifest = readJson(blobPath(layout, entry.digest));
    const config = readJson(blobPath(layout, manifest.config.digest));
    const platform = { architecture: config.architecture, os: config.os, ...(config.variant ? { variant: config.variant } : {}) };
    return { mediaType: MANIFEST, digest: entry.digest, size: entry.size, platform };
  });
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests }));
  setTag(layout, tag, { mediaType: INDEX, digest: putBlob(layout, bytes), size: bytes.length });
} else {
  console.error('usage: oci-edit.mjs healthcheck LAYOUT TAG JSON | index LAYOUT TAG SRC_TAG...');
  process.exit(2);
}
