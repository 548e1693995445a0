// `stack export kube` and replicas: a Deployment's (or StatefulSet's) `replicas` is the service's
// `scale` / `deploy.replicas` (1 when unset), a StatefulSet of several replicas warns that they
// share its claim, and a Job (a service peers wait to complete) says it runs one pod.
import { describe, expect, it } from 'vitest';
import type { KubeExport } from '../../../src/export/index.js';
import { checkedExports, find } from './kube-check.js';

// Whatever a test exports is valid Kubernetes and holds together (checked after each test).
const { exp } = checkedExports();
const warned = (r: KubeExport, service: string, key: string) => r.warnings.filter((w) => w.service === service && w.key === key).map((w) => w.message);

describe('replicas', () => {
  it('scale and deploy.replicas set replicas; unset is 1; 0 is 0', async () => {
    const r = await exp(`
name: p
services:
  web: { image: nginx, scale: 3 }
  api: { image: api, deploy: { replicas: 2 } }
  one: { image: one }
  off: { image: off, scale: 0 }
`);
    expect(find(r, 'Deployment', 'web').spec.replicas).toBe(3);
    expect(find(r, 'Deployment', 'api').spec.replicas).toBe(2);
    expect(find(r, 'Deployment', 'one').spec.replicas).toBe(1);
    expect(find(r, 'Deployment', 'off').spec.replicas).toBe(0);
    expect(r.warnings.filter((w) => w.key === 'scale')).toEqual([]);
  });
  it('a StatefulSet of one replica stays one; of several, its replicas with a warning about the shared claim', async () => {
    const r = await exp(`
name: p
services:
  db: { image: postgres, volumes: [data:/var/lib/postgresql/data] }
  cache: { image: redis, scale: 2, volumes: [data2:/data] }
volumes: { data: {}, data2: {} }
`);
    expect(find(r, 'StatefulSet', 'db').spec.replicas).toBe(1);
    expect(find(r, 'StatefulSet', 'cache').spec.replicas).toBe(2);
    expect(warned(r, 'cache', 'scale')[0]).toMatch(/share/);
    expect(warned(r, 'db', 'scale')).toEqual([]);
  });
  it('a global service (deploy.mode: global) is a DaemonSet: no replicas, its pods sharing a named claim warned', async () => {
    const r = await exp(`
name: p
services:
  agent: { image: agent, deploy: { mode: global } }
  collector: { image: collector, deploy: { mode: global }, volumes: [spool:/spool] }
  web: { image: nginx, deploy: { mode: replicated, replicas: 2 } }
volumes: { spool: {} }
`);
    const agent = find(r, 'DaemonSet', 'agent');
    expect(agent.spec.replicas).toBeUndefined();
    expect(agent.spec.selector).toBeDefined();
    expect(find(r, 'DaemonSet', 'collector').spec.template).toBeDefined();
    expect(r.objects.some((o) => o.kind === 'StatefulSet')).toBe(false);
    expect(warned(r, 'collector', 'volumes')[0]).toMatch(/ReadWriteMany/);
    expect(warned(r, 'agent', 'volumes')).toEqual([]);
    expect(find(r, 'Deployment', 'web').spec.replicas).toBe(2);
    expect(warned(r, 'agent', 'restart')[0]).toMatch(/DaemonSet's pod restarts/);
  });
});
