// links, extra_hosts (map form), expose in ps, attach and external_links through the real CLI
// (bin/stack.cjs over dist/: `npm run build` first): a link's alias resolves for the linking
// service only (in its /etc/hosts and from stack's DNS), to the linked service's address, and
// orders the start; extra_hosts given as a
// map land in /etc/hosts; `ps` lists the ports `expose:` declares; a foreground `up` does not
// stream a service with `attach: false` (its log still has its output); external_links is
// refused at file:line:col with the reason.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../harness/require.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));

describeWith({ root: true, commands: ['sh', 'getent', 'cat'] }, 'links, extra_hosts map, expose in ps, attach, external_links', () => {
  const id = randomBytes(4).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'stack-keys-links-'));
  const env = { ...process.env, STACK_ROOT: join(dir, 'state'), STACK_IP_FORWARD: 'leave' };
  const stack = (project: string, spec: string, ...args: string[]) => execa(process.execPath, [bin, '-p', project, '-f', join(dir, spec), ...args], { env, reject: false });
  const main = (...args: string[]) => stack(`kl${id}`, 'stack.yaml', ...args);
  const attached = (...args: string[]) => stack(`ka${id}`, 'attach.yaml', ...args);

  beforeAll(() => {
    writeFileSync(
      join(dir, 'stack.yaml'),
      [
        'services:',
        '  db:',
        '    command: sleep infinity',
        '  app:',
        '    command: sleep infinity',
        '    links: ["db:database"]',
        '    extra_hosts:',
        '      somehost: 192.0.2.10',
        '      multi: [192.0.2.11, 192.0.2.12]',
        '    expose: ["8080", "9000/udp"]',
        '  other:',
        '    command: sleep infinity',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'attach.yaml'),
      ['services:', '  loud:', '    command: ["sh", "-c", "echo loud-line"]', '  quiet:', '    command: ["sh", "-c", "echo quiet-line"]', '    attach: false', ''].join('\n'),
    );
    writeFileSync(join(dir, 'external.yaml'), ['services:', '  app:', '    command: sleep 1', '    external_links: ["redis_1:redis"]', ''].join('\n'));
  });
  afterAll(async () => {
    await main('down', '--timeout', '0');
    await attached('down', '--timeout', '0');
    rmSync(dir, { recursive: true, force: true });
  });

  it("a link's alias resolves for the linking service, to the linked service, and orders the start", async () => {
    const cfg = JSON.parse((await main('config', '--format', 'json')).stdout) as { services: Record<string, { depends_on?: Record<string, unknown>; links?: string[] }> };
    expect(cfg.services.app!.links).toEqual(['db:database']);
    expect(Object.keys(cfg.services.app!.depends_on ?? {})).toEqual(['db']);
    const up = await main('up', '-d');
    expect(up.exitCode).toBe(0);
    const db = (await main('exec', 'app', 'getent', 'hosts', 'db')).stdout.split(/\s+/)[0];
    expect(db).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect((await main('exec', 'app', 'getent', 'hosts', 'database')).stdout.split(/\s+/)[0]).toBe(db);
    expect((await main('exec', 'other', 'cat', '/etc/hosts')).stdout).not.toContain('database');
    // Through stack's DNS too (a resolver that skips /etc/hosts: node's dns.resolve4), for app only.
    const resolve = (service: string) => main('exec', service, process.execPath, '-e', "require('dns').promises.resolve4('database').then((a) => console.log(a.join(' ')), (e) => console.log(e.code))");
    expect((await resolve('app')).stdout.trim()).toBe(db);
    expect((await resolve('other')).stdout.trim()).not.toBe(db);
  });

  it('extra_hosts as a map, one or more addresses per host', async () => {
    const hosts = (await main('exec', 'app', 'cat', '/etc/hosts')).stdout;
    expect(hosts).toMatch(/^192\.0\.2\.10\tsomehost$/m);
    expect(hosts).toMatch(/^192\.0\.2\.11\tmulti$/m);
    expect(hosts).toMatch(/^192\.0\.2\.12\tmulti$/m);
  });

  it('ps shows the ports expose: declares', async () => {
    const rows = JSON.parse((await main('ps', '--format', 'json')).stdout) as { name: string; ports: string[] }[];
    expect(rows.find((r) => r.name === 'app')?.ports).toEqual(['8080/tcp', '9000/udp']);
    expect(rows.find((r) => r.name === 'db')?.ports).toEqual([]);
  });

  it('a foreground up does not stream a service with attach: false; its log has its output', async () => {
    const up = await attached('up');
    expect(up.exitCode).toBe(0);
    expect(up.stdout).toContain('loud-line');
    expect(up.stdout).not.toContain('quiet-line');
    expect((await attached('logs', 'quiet')).stdout).toContain('quiet-line');
  });

  it('external_links is refused where it is, with the reason', async () => {
    const r = await stack(`ke${id}`, 'external.yaml', 'config');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/external\.yaml:4:5: error: services\.app\.external_links: [^]*hint: +stack has no containers outside its projects/);
  });
});
