// `stack export kube` through the real CLI (bin/stack.cjs over dist/): the manifests on stdout,
// one warning line per change of meaning on stderr, exit 1 with --strict or a refusal, files in
// a folder with -o DIR. Needs no root: it reads only the spec.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));
const fixture = fileURLToPath(new URL('../fixtures/export/awesome-compose/wordpress-mysql.compose.yaml', import.meta.url));
const stack = (cwd: string, ...args: string[]) => execa(process.execPath, [bin, ...args], { cwd, reject: false, env: { STACK_ROOT: join(cwd, 'root') } });

describe('stack export kube (the real CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stack-export-e2e-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('-o - writes the manifests to stdout and each warning as one line on stderr', async () => {
    const r = await stack(dir, '-f', fixture, '-p', 'wp', 'export', 'kube', '-o', '-');
    expect(r.exitCode).toBe(0);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as { kind: string; metadata: { name: string } });
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([
      'Namespace/wp',
      'PersistentVolumeClaim/db-data',
      'Service/db',
      'Service/db-headless',
      'Service/wordpress',
      'Service/wordpress-published',
      'StatefulSet/db',
      'Deployment/wordpress',
      'NetworkPolicy/network-default',
      'NetworkPolicy/wordpress-published',
    ]);
    const lines = r.stderr.trim().split('\n');
    expect(lines.length).toBeGreaterThan(2);
    for (const line of lines) expect(line).toMatch(/^warning: [^:]+: [^:\s]+: \S/);
    expect(lines).toContain('warning: wordpress: ports[0].host_ip: published on 127.0.0.1 only; the LoadBalancer Service listens on every address the cluster gives it');
  });

  it('--strict turns the warnings into exit 1, with nothing on stdout', async () => {
    const r = await stack(dir, '-f', fixture, '-p', 'wp', 'export', 'kube', '--strict');
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^warning: /m);
    expect(r.stderr).toMatch(/stack: --strict: \d+ changes of meaning/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a host-binary service is refused with exit 1, naming the service and key', async () => {
    writeFileSync(join(dir, 'compose.yaml'), 'services:\n  tool:\n    command: ./run.sh\n');
    const r = await stack(dir, 'export', 'kube');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('tool: image: runs a program of this host (no image:)');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('-o DIR writes one file per object, in apply order; a bad --service-type is refused', async () => {
    const out = join(dir, 'k8s');
    const r = await stack(dir, '-f', fixture, '-p', 'wp', 'export', 'kube', '-o', out, '--service-type', 'nodeport', '--namespace', 'staging');
    expect(r.exitCode).toBe(0);
    const files = readdirSync(out).sort();
    expect(files[0]).toBe('00-namespace-staging.yaml');
    expect(files).toContain('07-service-wordpress-published.yaml');
    const bad = await stack(dir, '-f', fixture, 'export', 'kube', '--service-type', 'ingress');
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('unknown --service-type "ingress"');
  });
});
