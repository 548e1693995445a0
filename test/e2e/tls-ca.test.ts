// NODE_EXTRA_CA_CERTS through the real CLI run as a command (bin/stack.cjs through its #! line,
// as `stack` runs): Node starts without parsing the bundle the variable names (its value goes
// along, bin/stack.cjs), and the CLI's TLS connections still trust it (src/sys/tls-ca.ts). A
// build's ADD of an https URL, served on 127.0.0.1 by this test with a certificate of a CA that
// openssl makes here, is the TLS connection: trusted with the CA in the variable, refused without
// it. `node bin/stack.cjs` (Node loads the bundle itself) trusts it too.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../harness/require.js';
import { bundleCertificates, pemCertificates } from '../../src/sys/tls-ca.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));

describeWith({ root: true, commands: ['openssl', 'node'] }, 'NODE_EXTRA_CA_CERTS, deferred to the first TLS connection', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stack-tls-'));
  const project = join(dir, 'project');
  const ca = join(dir, 'ca.pem');
  const { NODE_EXTRA_CA_CERTS: _certificates, ...base } = process.env;
  const env = { ...base, STACK_ROOT: join(dir, 'state'), STACK_IP_FORWARD: 'leave', HOME: join(dir, 'home'), DOCKER_CONFIG: join(dir, 'docker') };
  /** The CLI as a command (sh, then node), or through node when `viaNode`. */
  const stack = (extra: NodeJS.ProcessEnv, args: string[], viaNode = false) =>
    execa(viaNode ? process.execPath : bin, viaNode ? [bin, ...args] : args, { cwd: project, env: { ...env, ...extra }, extendEnv: false, reject: false });
  let server: https.Server;

  beforeAll(async () => {
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=stack test CA');
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
    writeFileSync(join(dir, 'san.cnf'), 'subjectAltName=IP:127.0.0.1\n');
    openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.cnf');
    server = https.createServer({ key: readFileSync(join(dir, 'server.key')), cert: readFileSync(join(dir, 'server.pem')) }, (_req, res) => {
      res.setHeader('Connection', 'close'); // each download a TLS connection of its own
      res.end('hello over tls\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    mkdirSync(project);
    // Two downloads, each on a connection of its own: one secure context for all connections.
    writeFileSync(join(project, 'Dockerfile'), `FROM scratch\nADD https://127.0.0.1:${port}/hello.txt /hello.txt\nADD https://127.0.0.1:${port}/again.txt /again.txt\n`);
    writeFileSync(join(project, 'compose.yaml'), 'services:\n  app:\n    build: .\n    image: tls-test:1\n    environment:\n      BUNDLE: ${NODE_EXTRA_CA_CERTS:-none}\n');
  }, 60_000);

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('a STACK_DEFERRED_CA_CERTS the caller had is not taken for the bundle Node loaded', async () => {
    const r = await stack({ NODE_EXTRA_CA_CERTS: ca, STACK_DEFERRED_CA_CERTS: join(dir, 'other.pem') }, ['config'], true);
    expect(r.stdout).toContain(`BUNDLE: ${ca}`);
  });

  it("a command started without the bundle parsed still sees the variable (the spec's ${...})", async () => {
    // A bundle that is not there: Node warns at its start when it parses the variable; the
    // command never does (no TLS connection), and the spec sees the variable as set.
    const missing = join(dir, 'missing.pem');
    const asCommand = await stack({ NODE_EXTRA_CA_CERTS: missing }, ['config']);
    expect(asCommand.exitCode).toBe(0);
    expect(asCommand.stdout).toContain(`BUNDLE: ${missing}`);
    expect(asCommand.stderr).not.toContain('Ignoring extra certs');
    const throughNode = await stack({ NODE_EXTRA_CA_CERTS: missing }, ['config'], true);
    expect(throughNode.exitCode).toBe(0);
    expect(throughNode.stderr).toContain('Ignoring extra certs');
    const unset = await stack({}, ['config']);
    expect(unset.stdout).toContain('BUNDLE: none');
  });

  it('an https download trusts the bundle\'s CA, as a command and through node, and not without it', async () => {
    const trusted = await stack({ NODE_EXTRA_CA_CERTS: ca }, ['build', '--no-cache']);
    expect(trusted.stderr).toMatch(/built app: \S+tls-test:1 sha256:\S+ \(2 steps run/);
    expect(trusted.exitCode).toBe(0);
    const throughNode = await stack({ NODE_EXTRA_CA_CERTS: ca }, ['build', '--no-cache'], true);
    expect(throughNode.exitCode).toBe(0);
    const untrusted = await stack({}, ['build', '--no-cache']);
    expect(untrusted.exitCode).not.toBe(0);
    expect(untrusted.stderr).toContain('cannot download it (UNABLE_TO_VERIFY_LEAF_SIGNATURE)');
    // A bundle that cannot be read is said as Node says it, and ignored.
    const unreadable = await stack({ NODE_EXTRA_CA_CERTS: join(dir, 'missing.pem') }, ['build', '--no-cache']);
    expect(unreadable.exitCode).not.toBe(0);
    expect(unreadable.stderr).toContain('Ignoring extra certs from');
    expect(unreadable.stderr).toContain('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  }, 60_000);

  it('reads a bundle as Node does: its certificates in order, up to the first that does not parse', () => {
    const pem = readFileSync(ca, 'utf8').trim();
    expect(pemCertificates(`# a comment\n${pem}\nsome text\n${pem}`)).toEqual([pem, pem]);
    expect(pemCertificates('no certificate here')).toEqual([]);
    const trusted = pem.replace(/(BEGIN|END) CERTIFICATE/g, '$1 TRUSTED CERTIFICATE');
    const broken = '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----';
    expect(bundleCertificates(`${pem}\n${trusted}\n`)).toEqual({ certificates: [pem, pem] });
    const cut = bundleCertificates(`${pem}\n${broken}\n${pem}\n`);
    expect(cut.certificates).toEqual([pem]);
    expect(cut.error).toBeTruthy();
  });
});
