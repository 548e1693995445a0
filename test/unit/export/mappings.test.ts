// One test per mapping of `stack export kube` (issue 13): what each compose key becomes, and the
// warning that names each change of meaning. Every export here is also schema-validated.
import { describe, expect, it } from 'vitest';
import type { KubeExport } from '../../../src/export/index.js';
import { loadProject } from '../../../src/spec/index.js';
import { exportKube } from '../../../src/export/index.js';
import { checkedExports, exportSpec, find, mainContainer, podTemplate, projectDir } from './kube-check.js';

// Whatever a test exports is valid Kubernetes and holds together (checked after each test).
const { exp, check } = checkedExports();
const warned = (r: KubeExport, service: string | undefined, key: string) => r.warnings.filter((w) => w.service === service && w.key === key).map((w) => w.message);

describe('workloads', () => {
  it('a service is a Deployment; with a named volume a StatefulSet with its headless Service; awaited to complete, a Job', async () => {
    const r = await exp(`
name: p
services:
  web: { image: nginx, depends_on: { migrate: { condition: service_completed_successfully } } }
  db: { image: postgres, volumes: [data:/var/lib/postgresql/data], expose: [5432] }
  migrate: { image: migrate, restart: "on-failure:3" }
volumes: { data: {} }
`);
    expect(find(r, 'Deployment', 'web').spec.replicas).toBe(1);
    const db = find(r, 'StatefulSet', 'db');
    expect(db.spec.serviceName).toBe('db-headless');
    expect(find(r, 'Service', 'db-headless').spec.clusterIP).toBe('None');
    const job = find(r, 'Job', 'migrate');
    expect(job.spec.backoffLimit).toBe(3);
    expect(podTemplate(job)!.spec.restartPolicy).toBe('OnFailure');
    expect(r.objects.map((o) => o.kind)).toEqual([
      'Namespace', 'ServiceAccount', 'Role', 'RoleBinding', 'PersistentVolumeClaim', 'Service', 'Service', 'StatefulSet', 'Deployment', 'Job', 'NetworkPolicy',
    ]);
  });

  it('entrypoint → command, command → args; $( is kept literal; env sorted; working dir', async () => {
    const r = await exp(`
services:
  a: { image: alpine, entrypoint: ["/bin/sh", "-c"], command: ["echo $$(date)"], working_dir: /w, environment: { Z: "1", A: "x$$(y)" } }
  b: { image: alpine, command: "run --fast" }
`);
    const a = mainContainer(find(r, 'Deployment', 'a'));
    expect(a.command).toEqual(['/bin/sh', '-c']);
    expect(a.args).toEqual(['echo $$(date)']);
    expect(a.env).toEqual([{ name: 'A', value: 'x$$(y)' }, { name: 'Z', value: '1' }]);
    expect(a.workingDir).toBe('/w');
    const b = mainContainer(find(r, 'Deployment', 'b'));
    expect(b.command).toBeUndefined();
    expect(b.args).toEqual(['run', '--fast']);
  });

  it('tty and stdin_open → the container\'s tty and stdin', async () => {
    const r = await exp(`
services:
  shell: { image: alpine, command: sh, tty: true, stdin_open: true }
  plain: { image: alpine }
`);
    expect(mainContainer(find(r, 'Deployment', 'shell'))).toMatchObject({ tty: true, stdin: true });
    expect(mainContainer(find(r, 'Deployment', 'plain')).tty).toBeUndefined();
  });

  it('user uid:gid → runAsUser/runAsGroup; a user name is named, not guessed', async () => {
    const r = await exp(`
services:
  a: { image: alpine, user: "1000:2000" }
  b: { image: alpine, user: postgres }
`);
    expect(mainContainer(find(r, 'Deployment', 'a')).securityContext).toMatchObject({ runAsUser: 1000, runAsGroup: 2000 });
    expect((mainContainer(find(r, 'Deployment', 'b')).securityContext as Record<string, unknown>).runAsUser).toBeUndefined();
    expect(warned(r, 'b', 'user')[0]).toMatch(/"postgres" is a name.*runAsUser/);
  });

  it('cap_add/cap_drop → capabilities, named against the runtime default; read_only; privileged named; devices left out, named', async () => {
    const r = await exp(`
services:
  a: { image: alpine, cap_add: [NET_ADMIN], cap_drop: [CAP_CHOWN], read_only: true }
  b: { image: alpine, privileged: true, devices: ["/dev/null:/dev/x"] }
`);
    expect(mainContainer(find(r, 'Deployment', 'a')).securityContext).toMatchObject({
      capabilities: { add: ['NET_ADMIN'], drop: ['CHOWN'] },
      readOnlyRootFilesystem: true,
    });
    expect(warned(r, 'a', 'cap_add')[0]).toMatch(/CRI-O/);
    expect(mainContainer(find(r, 'Deployment', 'b')).securityContext).toMatchObject({ privileged: true });
    expect(warned(r, 'b', 'privileged')[0]).toMatch(/Pod Security/);
    expect(warned(r, 'b', 'devices[0]')[0]).toMatch(/\/dev\/null left out/);
  });

  it('mem_limit, cpus and deploy.resources.limits → resource limits; pids_limit named', async () => {
    const r = await exp(`
services:
  a: { image: alpine, mem_limit: 512m, cpus: 0.5, pids_limit: 100 }
  b: { image: alpine, deploy: { resources: { limits: { memory: 1g, cpus: "2" } } } }
`);
    expect(mainContainer(find(r, 'Deployment', 'a')).resources).toEqual({ limits: { memory: String(512 * 1024 * 1024), cpu: '500m' } });
    expect(mainContainer(find(r, 'Deployment', 'b')).resources).toEqual({ limits: { memory: String(1024 ** 3), cpu: '2000m' } });
    expect(warned(r, 'a', 'pids_limit')).toHaveLength(1);
  });

  it('stop_grace_period → terminationGracePeriodSeconds (rounded up, named); stop_signal and init named', async () => {
    const r = await exp(`
services:
  a: { image: alpine, stop_grace_period: 1500ms, stop_signal: SIGINT, init: true }
  b: { image: alpine, stop_grace_period: 1m }
`);
    expect(podTemplate(find(r, 'Deployment', 'a'))!.spec.terminationGracePeriodSeconds).toBe(2);
    expect(podTemplate(find(r, 'Deployment', 'b'))!.spec.terminationGracePeriodSeconds).toBe(60);
    expect(warned(r, 'a', 'stop_grace_period')[0]).toMatch(/1500 ms becomes 2s/);
    expect(warned(r, 'a', 'stop_signal')).toHaveLength(1);
    expect(warned(r, 'a', 'init')).toHaveLength(1);
    expect(warned(r, 'b', 'stop_grace_period')).toEqual([]);
  });

  it('healthcheck → exec readiness and liveness probes with interval, timeout, retries; start period → a startup probe', async () => {
    const r = await exp(`
services:
  a:
    image: alpine
    healthcheck: { test: "curl -f localhost", interval: 10s, timeout: 3s, retries: 4, start_period: 30s, start_interval: 2s }
`);
    const c = mainContainer(find(r, 'Deployment', 'a'));
    const probe = { exec: { command: ['/bin/sh', '-c', 'curl -f localhost'] }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 4, successThreshold: 1 };
    expect(c.readinessProbe).toEqual(probe);
    expect(c.livenessProbe).toEqual(probe);
    expect(c.startupProbe).toMatchObject({ periodSeconds: 2, failureThreshold: 15 + 4 });
    expect(warned(r, 'a', 'healthcheck')[0]).toMatch(/liveness probe: Kubernetes restarts the container after 4/);
  });

  it('restart always/unless-stopped are kept; no and on-failure are named', async () => {
    const r = await exp(`
services:
  a: { image: alpine, restart: always }
  b: { image: alpine, restart: unless-stopped }
  c: { image: alpine, restart: "no" }
  d: { image: alpine, restart: on-failure }
`);
    expect(warned(r, 'a', 'restart')).toEqual([]);
    expect(warned(r, 'b', 'restart')).toEqual([]);
    expect(warned(r, 'c', 'restart')[0]).toMatch(/restart: no .*restartPolicy Always/);
    expect(warned(r, 'd', 'restart')[0]).toMatch(/on-failure cannot be kept/);
  });

  it('extra_hosts → hostAliases (host-gateway named); platform → nodeSelector; container_name named; hostname kept', async () => {
    const r = await exp(`
services:
  a:
    image: alpine
    hostname: box
    container_name: my-a
    platform: linux/arm64
    extra_hosts: ["db.local:10.0.0.5", "cache.local:10.0.0.5", "host.docker.internal:host-gateway"]
`);
    const pod = podTemplate(find(r, 'Deployment', 'a'))!.spec;
    expect(pod.hostAliases).toEqual([{ ip: '10.0.0.5', hostnames: ['db.local', 'cache.local'] }]);
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'arm64' });
    expect(pod.hostname).toBe('box');
    expect(warned(r, 'a', 'extra_hosts[2]')).toHaveLength(1);
    expect(warned(r, 'a', 'container_name')).toHaveLength(1);
  });
});

describe('Services and ports', () => {
  it('ports and expose → a ClusterIP Service; published ports → a LoadBalancer on the host port', async () => {
    const r = await exp(`
services:
  web: { image: nginx, ports: ["0.0.0.0:8080:80", "127.0.0.1:8443:443"], expose: ["9000-9001", "53/udp"] }
`);
    const svc = find(r, 'Service', 'web');
    expect(svc.spec.type).toBe('ClusterIP');
    expect((svc.spec.ports as { port: number; protocol: string }[]).map((p) => `${p.port}/${p.protocol}`)).toEqual(['53/UDP', '80/TCP', '443/TCP', '9000/TCP', '9001/TCP']);
    const pub = find(r, 'Service', 'web-published');
    expect(pub.spec.type).toBe('LoadBalancer');
    expect(pub.spec.ports).toEqual([
      { name: 'tcp-8080', port: 8080, protocol: 'TCP', targetPort: 80 },
      { name: 'tcp-8443', port: 8443, protocol: 'TCP', targetPort: 443 },
    ]);
    expect(warned(r, 'web', 'ports[0].host_ip')).toEqual([]);
    expect(warned(r, 'web', 'ports[1].host_ip')[0]).toMatch(/127\.0\.0\.1 only/);
  });

  it('NodePort keeps a host port in the node-port range and names one it cannot keep; ClusterIP names every published port', async () => {
    const spec = `
services:
  web: { image: nginx, ports: ["0.0.0.0:30080:80", "0.0.0.0:8080:8080"] }
`;
    const r = await exp(spec, { serviceType: 'NodePort' });
    const ports = find(r, 'Service', 'web-published').spec.ports as Record<string, unknown>[];
    expect(ports[0]!.nodePort).toBe(30080);
    expect(ports[1]!.nodePort).toBeUndefined();
    expect(warned(r, 'web', 'ports[1]')[0]).toMatch(/8080 cannot be a node port.*the cluster picks/);
    const c = await exp(spec, { serviceType: 'ClusterIP' });
    expect(c.objects.some((o) => o.metadata.name === 'web-published')).toBe(false);
    expect(warned(c, 'web', 'ports[0]')[0]).toMatch(/kubectl port-forward service\/web 30080:80/);
  });

  it('a peer that reaches a port the service never listed is named; so is a service with no port at all', async () => {
    const r = await exp(`
services:
  app: { image: app, environment: { CACHE: "redis://cache:6380", DB_HOST: db, DB_USER: db } }
  cache: { image: redis, expose: [6379] }
  db: { image: postgres }
`);
    expect(warned(r, 'cache', 'expose')[0]).toMatch(/port 6380 \(app \(environment CACHE\)\)/);
    expect(warned(r, 'db', 'expose')[0]).toMatch(/app \(environment DB_HOST\)\) but it lists no port/);
    expect(warned(r, 'db', 'expose')[0]).not.toMatch(/DB_USER/);
    expect(r.objects.some((o) => o.kind === 'Service' && o.metadata.name === 'db')).toBe(false);
  });

  it('network aliases become Services of the same pods', async () => {
    const r = await exp(`
services:
  db: { image: postgres, expose: [5432], networks: { default: { aliases: [database] } } }
`);
    expect(find(r, 'Service', 'database').spec.selector).toEqual(find(r, 'Service', 'db').spec.selector);
  });
});

describe('names, labels and annotations', () => {
  it('a name Kubernetes cannot carry is renamed and named; the compose name stays as an annotation', async () => {
    const r = await exp(`
services:
  My_Web.1: { image: nginx, expose: [80] }
  "2fa": { image: x }
`);
    const d = find(r, 'Deployment', 'my-web-1');
    expect(d.metadata.annotations).toMatchObject({ 'stack.compose/service': 'My_Web.1' });
    expect(find(r, 'Deployment', 's-2fa')).toBeDefined();
    expect(warned(r, 'My_Web.1', 'services.My_Web.1')[0]).toMatch(/renamed to "my-web-1".*DNS name changes/);
  });

  it('two compose names that map to one Kubernetes name are refused, naming both', async () => {
    await expect(exportSpec(`
services:
  web_a: { image: nginx }
  web-a: { image: nginx }
`)).rejects.toThrow(/services "web-a" and "web_a" would both be named "web-a"/);
  });

  it('compose labels → annotations (an invalid key named); app.kubernetes.io labels; selectors match the pods', async () => {
    const r = await exp(`
services:
  web: { image: nginx, expose: [80], labels: { com.example.team: "a b c: anything goes", "bad key!": x } }
`);
    const d = find(r, 'Deployment', 'web');
    expect(d.metadata.annotations).toEqual({ 'com.example.team': 'a b c: anything goes' });
    expect(podTemplate(d)!.labels).toMatchObject({ 'app.kubernetes.io/name': 'web', 'app.kubernetes.io/managed-by': 'stack' });
    expect(warned(r, 'web', 'labels.bad key!')).toHaveLength(1);
  });

  it('a project name that ends in - or _ still makes valid label values', async () => {
    const r = await exp(`name: my_app_\nservices: { web: { image: nginx, expose: [80] } }`);
    expect(podTemplate(find(r, 'Deployment', 'web'))!.labels['app.kubernetes.io/part-of']).toBe('my_app');
  });

  it('--namespace puts every object in that namespace', async () => {
    const r = await exp(`services: { web: { image: nginx } }`, { namespace: 'staging' });
    expect(find(r, 'Namespace', 'staging')).toBeDefined();
    expect(r.objects.filter((o) => o.kind !== 'Namespace').every((o) => o.metadata.namespace === 'staging')).toBe(true);
  });
});

describe('volumes, secrets and configs', () => {
  it('named volumes → claims (size from the label, the flag, else named); shared → ReadWriteMany, named; tmpfs → memory emptyDir', async () => {
    const r = await exp(
      `
services:
  a: { image: x, volumes: [shared:/s, sized:/z, "tmpfs-a:/t"], tmpfs: ["/run:size=64m"] }
  b: { image: x, volumes: ["shared:/s:ro", { type: volume, target: /anon }] }
volumes:
  shared: {}
  sized: { labels: { stack.export.size: 20Gi, team: data } }
  tmpfs-a: {}
`,
      { volumeSize: '5Gi' },
    );
    expect(find(r, 'PersistentVolumeClaim', 'shared').spec).toEqual({ accessModes: ['ReadWriteMany'], resources: { requests: { storage: '5Gi' } } });
    expect(find(r, 'PersistentVolumeClaim', 'sized').spec).toEqual({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '20Gi' } } });
    expect(find(r, 'PersistentVolumeClaim', 'sized').metadata.annotations).toEqual({ team: 'data' });
    expect(warned(r, undefined, 'volumes.shared')[0]).toMatch(/shared by a, b.*ReadWriteMany/);
    const a = podTemplate(find(r, 'StatefulSet', 'a'))!.spec;
    expect(a.volumes).toContainEqual({ name: 'tmpfs-3', emptyDir: { medium: 'Memory', sizeLimit: String(64 * 1024 * 1024) } });
    const b = mainContainer(find(r, 'StatefulSet', 'b'));
    expect(b.volumeMounts).toContainEqual({ name: 'vol-shared', mountPath: '/s', readOnly: true });
    expect(podTemplate(find(r, 'StatefulSet', 'b'))!.spec.volumes).toContainEqual({ name: 'anon-1', emptyDir: {} });
  });

  it('a claim size that is not a quantity is refused, naming the volume and label', async () => {
    await expect(exportSpec(`
services: { a: { image: x, volumes: [v:/v] } }
volumes: { v: { labels: { stack.export.size: lots } } }
`)).rejects.toThrow(/volumes\.v\.labels\.stack\.export\.size: "lots" is not a Kubernetes quantity/);
  });

  it('a bind mount of a host folder is left out and named', async () => {
    const r = await exp(`services: { a: { image: x, volumes: ["./src:/app"] } }`);
    expect(mainContainer(find(r, 'Deployment', 'a')).volumeMounts).toBeUndefined();
    expect(warned(r, 'a', 'volumes[0]')[0]).toMatch(/bind mount of host path .*\/src at \/app left out/);
  });

  it('secrets → Secrets and configs → ConfigMaps, mounted at the same paths', async () => {
    const r = await exp(
      `
services:
  a:
    image: x
    secrets: [db_pass, { source: token, target: /etc/token, mode: 0400 }]
    configs: [{ source: app_conf, target: /etc/app.conf }]
secrets:
  db_pass: { file: ./pass.txt }
  token: { environment: TOKEN }
configs:
  app_conf: { content: "debug = true" }
`,
      { env: { TOKEN: 't0k' } },
      { 'pass.txt': 's3cret' },
    );
    expect(find(r, 'Secret', 'db-pass').data).toEqual({ db_pass: Buffer.from('s3cret').toString('base64') });
    expect(find(r, 'Secret', 'token').data).toEqual({ token: Buffer.from('t0k').toString('base64') });
    expect(find(r, 'ConfigMap', 'app-conf').data).toEqual({ app_conf: 'debug = true' });
    const mounts = mainContainer(find(r, 'Deployment', 'a')).volumeMounts as Record<string, unknown>[];
    expect(mounts.map((m) => [m.mountPath, m.subPath])).toEqual([
      ['/run/secrets/db_pass', 'db_pass'],
      ['/etc/token', 'token'],
      ['/etc/app.conf', 'app_conf'],
    ]);
    const vols = podTemplate(find(r, 'Deployment', 'a'))!.spec.volumes as Record<string, Record<string, unknown>>[];
    expect(vols[1]!.secret).toEqual({ secretName: 'token', items: [{ key: 'token', path: 'token', mode: 0o400 }] });
  });

  it('a secret whose file is missing is written empty and named', async () => {
    const r = await exp(`
services: { a: { image: x, secrets: [s] } }
secrets: { s: { file: ./absent.txt } }
`);
    expect(find(r, 'Secret', 's').data).toEqual({ s: '' });
    expect(warned(r, undefined, 'secrets.s.file')[0]).toMatch(/cannot be read: the object is written empty/);
  });
});

describe('networks → NetworkPolicies', () => {
  it('services that share a network may talk; an internal network reaches only its peers and the cluster DNS', async () => {
    const r = await exp(`
services:
  web: { image: nginx, networks: [front, back], ports: ["0.0.0.0:80:80"] }
  db: { image: postgres, networks: [back], expose: [5432] }
networks:
  front: {}
  back: { internal: true }
`);
    const back = find(r, 'NetworkPolicy', 'network-back');
    const members = { matchLabels: { 'stack.network/back': 'true', 'app.kubernetes.io/part-of': expect.any(String) } };
    expect(back.spec.podSelector).toEqual(members);
    expect(back.spec.ingress).toEqual([{ from: [{ podSelector: members }] }]);
    expect((back.spec.egress as unknown[])[0]).toEqual({ to: [{ podSelector: members }] });
    expect(JSON.stringify(back.spec.egress)).toContain('kube-dns');
    // Anywhere but the link-local range (cloud metadata), which stack drops too.
    expect(find(r, 'NetworkPolicy', 'network-front').spec.egress).toEqual([
      { to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['169.254.0.0/16'] } }, { ipBlock: { cidr: '::/0' } }, { namespaceSelector: {} }] },
    ]);
    expect(podTemplate(find(r, 'Deployment', 'web'))!.labels).toMatchObject({ 'stack.network/front': 'true', 'stack.network/back': 'true' });
    expect(podTemplate(find(r, 'Deployment', 'db'))!.labels['stack.network/front']).toBeUndefined();
    expect(find(r, 'NetworkPolicy', 'web-published').spec.ingress).toEqual([{ ports: [{ protocol: 'TCP', port: 80 }] }]);
    expect(warned(r, undefined, 'networks')[0]).toMatch(/only some network plugins enforce/);
  });
  it('x-stack-allow-link-local lets a network reach the link-local range too', async () => {
    const r = await exp(`
services: { a: { image: x } }
networks: { default: { x-stack-allow-link-local: true } }
`);
    expect(find(r, 'NetworkPolicy', 'network-default').spec.egress).toEqual([{}]);
  });
});

describe('depends_on', () => {
  it('service_healthy → an init container waiting for the Service; service_started named; completed → Job with a waiter', async () => {
    const r = await exp(`
services:
  web:
    image: nginx
    depends_on:
      db: { condition: service_healthy }
      cache: { condition: service_started }
      init: { condition: service_completed_successfully }
  db: { image: postgres, expose: [5432], healthcheck: { test: [CMD, pg_isready] } }
  cache: { image: redis }
  init: { image: busybox }
`);
    const pod = podTemplate(find(r, 'Deployment', 'web'))!.spec;
    const inits = pod.initContainers as Record<string, unknown>[];
    expect(inits.map((c) => c.name)).toEqual(['wait-db', 'wait-init']);
    expect(String((inits[0]!.command as string[])[2])).toContain('nc -z -w 2 db 5432');
    expect(inits[1]!.command).toEqual(['kubectl', 'wait', '--for=condition=complete', '--timeout=-1s', 'job/init']);
    expect(pod.serviceAccountName).toBe('stack-job-waiter');
    expect(find(r, 'Job', 'init')).toBeDefined();
    expect(find(r, 'RoleBinding', 'stack-job-waiter')).toBeDefined();
    expect(warned(r, 'web', 'depends_on')[0]).toMatch(/after cache is not kept/);
    expect(warned(r, 'web', 'depends_on.db')[0]).toMatch(/init container waits until db:5432/);
  });
});

describe('namespaces, dns and kernel settings', () => {
  it('network_mode: none → a policy that lets nothing in or out; pid/ipc host → hostPID/hostIPC, named', async () => {
    const r = await exp(`
services:
  a: { image: x, network_mode: none, pid: host, ipc: host }
  b: { image: x }
`);
    expect(find(r, 'NetworkPolicy', 'a-no-network').spec).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'a', 'app.kubernetes.io/part-of': expect.any(String) } },
      policyTypes: ['Ingress', 'Egress'],
    });
    const pod = podTemplate(find(r, 'Deployment', 'a'))!.spec;
    expect(pod).toMatchObject({ hostPID: true, hostIPC: true });
    expect(warned(r, 'a', 'network_mode')).toHaveLength(1);
    expect(warned(r, 'a', 'pid')[0]).toMatch(/hostPID/);
  });

  it('network_mode: host and service:NAME are refused, naming service and key', async () => {
    await expect(exportSpec(`services: { a: { image: x, network_mode: host } }`)).rejects.toThrow(/a: network_mode: host/);
    await expect(exportSpec(`services: { a: { image: x }, b: { image: x, network_mode: "service:a" } }`)).rejects.toThrow(/b: network_mode: service:a: sharing a network namespace/);
  });

  it('dns_search and dns_opt → dnsConfig; dns named; sysctls and numeric group_add → the pod securityContext; the rest named', async () => {
    const r = await exp(`
services:
  a:
    image: x
    dns: [1.1.1.1]
    dns_search: [example.com]
    dns_opt: ["ndots:2", use-vc]
    sysctls: { net.ipv4.tcp_syncookies: "1", net.core.somaxconn: "1024" }
    group_add: ["100"]
    ulimits: { nofile: 1024 }
    oom_score_adj: 100
    domainname: example.org
`);
    const pod = podTemplate(find(r, 'Deployment', 'a'))!.spec;
    expect(pod.dnsConfig).toEqual({ searches: ['example.com'], options: [{ name: 'ndots', value: '2' }, { name: 'use-vc' }] });
    expect(pod.securityContext).toEqual({
      sysctls: [
        { name: 'net.core.somaxconn', value: '1024' },
        { name: 'net.ipv4.tcp_syncookies', value: '1' },
      ],
      supplementalGroups: [100],
    });
    for (const key of ['dns', 'dns_search', 'ulimits', 'oom_score_adj', 'domainname']) expect(warned(r, 'a', key), key).toHaveLength(1);
    expect(warned(r, 'a', 'sysctls')[0]).toMatch(/^net\.core\.somaxconn: not in the kubelet's safe set/);
  });
});

describe('volumes_from', () => {
  it("mounts the other service's claims (read-only with ro), shared as ReadWriteMany; its other mounts named", async () => {
    const dir = projectDir({ 'compose.yaml': 'services:\n  a: { image: x, volumes: [d:/d, /scratch] }\n  b: { image: x }\nvolumes: { d: {} }\n' });
    const { project } = await loadProject({ cwd: dir, env: {} });
    // The spec does not accept volumes_from yet: the Project is given it as normalization would.
    const b = { ...project.services.b!, volumesFrom: [{ service: 'a', mode: 'ro' as const }] };
    const r = exportKube({ ...project, services: { ...project.services, b } }, { serviceType: 'LoadBalancer', services: [], env: {} });
    check(r);
    expect(mainContainer(find(r, 'StatefulSet', 'b')).volumeMounts).toEqual([{ name: 'vol-d', mountPath: '/d', readOnly: true }]);
    expect(find(r, 'PersistentVolumeClaim', 'd').spec.accessModes).toEqual(['ReadWriteMany']);
    expect(warned(r, 'b', 'volumes_from')[0]).toMatch(/anonymous volume at \/scratch left out/);
  });
});

describe('refusals', () => {
  it('a host-binary service (no image) and a build of a remote context are refused by service and key, all at once', async () => {
    const e = await exportSpec(`
services:
  tool: { command: ./run.sh }
  app: { build: "https://github.com/x/app.git" }
  ok: { image: nginx }
`).catch((x: unknown) => x as Error & { code?: string; hint?: string });
    expect(e).toBeInstanceOf(Error);
    expect((e as { code?: string }).code).toBe('EXPORT_REFUSED');
    expect((e as Error).message).toMatch(/2 problems/);
    expect((e as Error).message).toMatch(/app: build: builds from https:\/\/github\.com\/x\/app\.git: a cluster pulls images/);
    expect((e as Error).message).toMatch(/tool: image: runs a program of this host/);
  });

  it('a service stack builds (build: of a folder, no image:) runs the image stack names <project>-<service>, said in a warning', async () => {
    const r = await exp(`
name: shop
services:
  app: { build: . }
`);
    expect(mainContainer(find(r, 'Deployment', 'app')).image).toBe('shop-app');
    expect(warned(r, 'app', 'build')).toEqual(['not built: the manifests use image shop-app (what `stack build` names it), which must be pushed to a registry the cluster pulls from (name it there in image:, then `stack push`)']);
  });

  it('a service on internal networks only that waits for a Job is told its waiter cannot reach the API server', async () => {
    const r = await exp(`
services:
  web: { image: nginx, networks: [back], depends_on: { migrate: { condition: service_completed_successfully } } }
  migrate: { image: migrate, networks: [back] }
networks: { back: { internal: true } }
`);
    expect(warned(r, 'web', 'depends_on.migrate').join('\n')).toMatch(/all internal: .*API server/);
  });

  it('post_start/pre_stop → lifecycle exec handlers (what they cannot carry named); runtime named', async () => {
    const r = await exp(`
services:
  web:
    image: nginx
    runtime: io.containerd.wasmedge.v1
    post_start: [{ command: [sh, -c, "echo $(date) > /tmp/up"] }, { command: [touch, /b] }]
    pre_stop: [{ command: [nginx, -s, quit], user: "1000", environment: { A: "1" } }]
`);
    const c = mainContainer(find(r, 'Deployment', 'web'));
    expect(c.lifecycle).toEqual({
      postStart: { exec: { command: ['sh', '-c', 'echo $$(date) > /tmp/up'] } },
      preStop: { exec: { command: ['nginx', '-s', 'quit'] } },
    });
    expect(warned(r, 'web', 'post_start[1]')[0]).toMatch(/only the first hook is written, 1 left out/);
    expect(warned(r, 'web', 'post_start')[0]).toMatch(/kills the container/);
    expect(warned(r, 'web', 'pre_stop[0]')[0]).toMatch(/^user, environment left out/);
    expect(warned(r, 'web', 'runtime')[0]).toMatch(/io.containerd.wasmedge.v1 left out: .*RuntimeClass/);
  });

  it('an environment variable name Kubernetes refuses is refused, naming service and key', async () => {
    await expect(exportSpec(`services: { a: { image: x, environment: { "1BAD": v } } }`)).rejects.toThrow(/a: environment\.1BAD: not a variable name Kubernetes accepts/);
  });

  it('SERVICE... exports those services and what they depend on', async () => {
    const r = await exp(`
services:
  web: { image: nginx, depends_on: [db] }
  db: { image: postgres }
  other: { command: host-only }
`, { services: ['web'] });
    expect(r.objects.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name)).toEqual(['db', 'web']);
    await expect(exportSpec(`services: { web: { image: nginx } }`, { services: ['nope'] })).rejects.toThrow(/no such service: nope/);
  });
});
