// The checks the other export tests rely on can fail: the schema check refuses a bad object,
// and each invariant a schema cannot see is caught. Also the folder writer's names and order.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { writeFolder, type KubeObject } from '../../../src/export/index.js';
import { isDnsLabel, toDnsLabel } from '../../../src/export/naming.js';
import { exportSpec, invariantErrors, schemaErrors, tempDir } from './kube-check.js';

const base = async () => (await exportSpec(`
services:
  web: { image: nginx, expose: [80], volumes: [data:/d] }
volumes: { data: {} }
`)).objects;
const clone = (objects: readonly KubeObject[]) => JSON.parse(JSON.stringify(objects)) as (KubeObject & { spec: any })[];

describe('the checks catch what they must', () => {
  it('the schema check refuses a wrong type and a missing required field', async () => {
    const objects = clone(await base());
    const sts = objects.find((o) => o.kind === 'StatefulSet')!;
    expect(schemaErrors(sts)).toBe('');
    sts.spec.template.spec.containers[0].ports = [{ containerPort: 'eighty' }];
    expect(schemaErrors(sts)).toMatch(/containerPort must be integer/);
    const svc = objects.find((o) => o.kind === 'Service')!;
    delete svc.spec.ports[0].port;
    expect(schemaErrors(svc)).toMatch(/port/);
  });

  it('a selector that misses its pods, a mount without its volume and a bad name are caught', async () => {
    const objects = clone(await base());
    expect(invariantErrors(objects)).toEqual([]);
    const sts = objects.find((o) => o.kind === 'StatefulSet')!;
    sts.spec.selector.matchLabels['app.kubernetes.io/name'] = 'other';
    sts.spec.template.spec.containers[0].volumeMounts.push({ name: 'ghost', mountPath: '/g' });
    (objects.find((o) => o.kind === 'PersistentVolumeClaim')!.metadata as { name: string }).name = 'Data_1';
    const errors = invariantErrors(objects).join('\n');
    expect(errors).toMatch(/StatefulSet\/web: selector does not match its pod labels/);
    expect(errors).toMatch(/mount ghost at \/g has no volume/);
    expect(errors).toMatch(/PersistentVolumeClaim\/Data_1: name is not a DNS-1123 label/);
    expect(errors).toMatch(/claim data is not exported/);
  });
});

describe('names', () => {
  it('every compose name becomes a DNS-1123 label starting with a letter, at most the length asked', () => {
    for (const n of ['web', 'My_App.v2', '2fa', '__x__', 'a'.repeat(80), 'Ünïcode', '-lead']) {
      const out = toDnsLabel(n);
      expect(isDnsLabel(out), `${n} → ${out}`).toBe(true);
      expect(toDnsLabel(n, 53).length).toBeLessThanOrEqual(53);
    }
    expect(toDnsLabel('web')).toBe('web');
    expect(toDnsLabel('a'.repeat(80))).not.toBe(toDnsLabel('a'.repeat(81)));
  });
});

describe('writeFolder', () => {
  it('one file per object, named in apply order; stale files of an earlier export removed, others kept', async () => {
    const dir = tempDir('out-');
    writeFileSync(join(dir, '09-deployment-old.yaml'), 'metadata:\n  labels:\n    app.kubernetes.io/managed-by: stack\n');
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    const objects = await base();
    const files = writeFolder(dir, objects);
    // kubectl reads a folder in name order: the rank prefix keeps the kinds in apply order.
    const ranks = [...files].sort().map((f) => f.slice(0, 2));
    expect(ranks).toEqual(files.map((f) => f.slice(0, 2)));
    expect(readdirSync(dir).sort()).toEqual([...files, 'notes.txt'].sort());
    expect(files[0]).toMatch(/^00-namespace-/);
    expect(readFileSync(join(dir, files.find((f) => f.includes('statefulset'))!), 'utf8')).toMatch(/^apiVersion: apps\/v1\nkind: StatefulSet\n/);
  });

  it('a Secret\'s file is readable by its owner only; the other files as usual', async () => {
    const dir = tempDir('out-');
    const objects = (await exportSpec(`
services:
  web: { image: nginx, secrets: [pw] }
secrets: { pw: { environment: PW } }
`, { env: { PW: 'hunter2' } })).objects;
    const files = writeFolder(join(dir, 'new', 'deeper'), objects);
    const mode = (f: string) => statSync(join(dir, 'new', 'deeper', f)).mode & 0o777;
    expect(mode(files.find((f) => f.includes('-secret-'))!)).toBe(0o600);
    expect(mode(files.find((f) => f.includes('-deployment-'))!)).toBe(0o644 & ~process.umask());
  });

  it('a folder that is a file, or one that cannot be made, is a UserError naming it (no hang under /proc)', async () => {
    const dir = tempDir('out-');
    writeFileSync(join(dir, 'file'), '');
    const objects = await base();
    for (const target of [join(dir, 'file'), join(dir, 'file', 'sub'), '/proc/stack-export-nope']) {
      let err: unknown;
      try {
        writeFolder(target, objects);
      } catch (e) {
        err = e;
      }
      expect(err, target).toBeInstanceOf(UserError);
      expect((err as UserError).message, target).toContain(target);
    }
  });
});

