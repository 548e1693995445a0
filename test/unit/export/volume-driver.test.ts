// `stack export kube` of named volumes with driver_opts: a tmpfs of its own becomes an emptyDir
// in memory in each pod (sized from `size=`; no claim, no StatefulSet), a bound host folder a
// claim like any named volume, each difference named in a warning.
import { describe, expect, it } from 'vitest';
import type { KubeExport } from '../../../src/export/index.js';
import { checkedExports, find } from './kube-check.js';

const { exp } = checkedExports();
const warned = (r: KubeExport, service: string | undefined, key: string) => r.warnings.filter((w) => w.service === service && w.key === key).map((w) => w.message);
const podVolumes = (r: KubeExport, kind: string, name: string) => (find(r, kind, name).spec.template as { spec: { volumes?: Record<string, unknown>[] } }).spec.volumes ?? [];

describe('volumes with driver_opts', () => {
  it('a tmpfs volume is an emptyDir in memory in each pod, sized by size=, its sharing warned; no claim, no StatefulSet', async () => {
    const r = await exp(`
name: p
services:
  web: { image: nginx, volumes: [scratch:/cache] }
  worker: { image: w, volumes: [scratch:/cache] }
volumes:
  scratch: { driver_opts: { type: tmpfs, device: tmpfs, o: "size=64m,uid=1000" } }
`);
    expect(r.objects.some((o) => o.kind === 'PersistentVolumeClaim')).toBe(false);
    expect(podVolumes(r, 'Deployment', 'web')).toEqual([{ name: 'mem-scratch', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } }]);
    expect(podVolumes(r, 'Deployment', 'worker')).toEqual([{ name: 'mem-scratch', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } }]);
    expect(warned(r, 'web', 'volumes[0]')[0]).toMatch(/each pod: web, worker share one tmpfs/);
  });

  it('a tmpfs sized as a share of memory has no sizeLimit, said so', async () => {
    const r = await exp(`
name: p
services:
  web: { image: nginx, volumes: [scratch:/cache] }
volumes:
  scratch: { driver_opts: { type: tmpfs, o: "size=50%" } }
`);
    expect(podVolumes(r, 'Deployment', 'web')).toEqual([{ name: 'mem-scratch', emptyDir: { medium: 'Memory' } }]);
    expect(warned(r, 'web', 'volumes.scratch.driver_opts.o')[0]).toMatch(/tmpfs size 50% left out/);
  });

  it('a bound host folder is a claim (a StatefulSet), whose pods start without the folder\'s files', async () => {
    const r = await exp(`
name: p
services:
  db: { image: postgres, volumes: [data:/var/lib/postgresql/data] }
volumes:
  data: { driver_opts: { type: none, o: bind, device: /srv/pg } }
`);
    expect(find(r, 'PersistentVolumeClaim', 'data')).toBeDefined();
    expect(find(r, 'StatefulSet', 'db')).toBeDefined();
    expect(warned(r, undefined, 'volumes.data.driver_opts')[0]).toMatch(/host folder \/srv\/pg .* not carried: the claim starts empty/);
  });
});
