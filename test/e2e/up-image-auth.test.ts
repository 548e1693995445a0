// `stack up` of an image on a registry that wants credentials, through the real CLI (bin/stack.cjs
// over dist/: `npm run build` first), against Debian's docker-registry on 127.0.0.1 in Basic mode
// (htpasswd, bcrypt) and in token mode (Bearer JWTs from test/harness/token-server.ts): without
// credentials up fails naming the registry with a hint to log in that says where stack looks;
// with wrong ones in a Docker config file it fails saying they were refused; with the right ones
// (`DOCKER_CONFIG=<dir>`, config.json `auths` with base64 user:password) the service runs. A failed
// up starts nothing and stores nothing.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { imageStoreDir } from '../../src/image/paths.js';
import { readLogLines } from '../../src/runtime/logs.js';
import { projectRunDir, type StateRoots } from '../../src/state/paths.js';
import { serviceFiles } from '../../src/state/service-files.js';
import { eventually } from '../harness/eventually.js';
import { busyboxLayer, pushImage } from '../harness/oci.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { describeWith } from '../harness/require.js';
import { startTokenServer, type TestTokenServer } from '../harness/token-server.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));
const USER = 'alice';
const PASSWORD = 'pa:ss wörd'; // a colon and a space: auth is base64 of user:password, split at the first colon
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

for (const mode of ['basic', 'token'] as const) {
  describeWith({ root: true, commands: ['docker-registry', mode === 'basic' ? 'htpasswd' : 'openssl'] }, `up pulls from a ${mode}-auth registry with the credentials of a docker config file`, () => {
    const project = `ua${mode}${randomBytes(3).toString('hex')}`;
    const dir = mkdtempSync(join(tmpdir(), `stack-upauth-${mode}-`));
    const state = join(dir, 'state');
    const roots: StateRoots = { run: join(state, 'run'), lib: join(state, 'lib') };
    const spec = join(dir, 'compose.yaml');
    const dockerConfig = join(dir, 'docker');
    const baseEnv: NodeJS.ProcessEnv = { ...process.env, STACK_ROOT: state, STACK_IP_FORWARD: 'leave', HOME: join(dir, 'home'), DOCKER_CONFIG: dockerConfig };
    delete baseEnv.REGISTRY_AUTH_FILE;
    delete baseEnv.XDG_RUNTIME_DIR;
    const stack = (...args: string[]) => execa(process.execPath, [bin, '-p', project, '-f', spec, ...args], { env: baseEnv, reject: false });
    const greeting = `hello from the ${mode} registry`;
    let tokens: TestTokenServer | undefined;
    let reg: TestRegistry;
    let image: string;

    /** config.json in DOCKER_CONFIG with `auths` for the registry (none when `password` is undefined). */
    const writeDockerConfig = (password: string | undefined) => {
      mkdirSync(dockerConfig, { recursive: true });
      const auths = password === undefined ? {} : { [reg.host]: { auth: Buffer.from(`${USER}:${password}`).toString('base64') } };
      writeFileSync(join(dockerConfig, 'config.json'), JSON.stringify({ auths }));
    };

    /** A refused up: exit 1, the registry and image named, no stack trace, nothing started, nothing stored. */
    const expectRefused = async (): Promise<string> => {
      const up = await stack('up', '-d', '--progress', 'plain');
      const stderr = String(up.stderr);
      expect(up.exitCode, stderr).toBe(1);
      expect(stderr).toContain(`${reg.host} refused access to ${image}`);
      expect(stderr).toContain('service "app"');
      expect(stderr).not.toMatch(/\n\s+at /);
      expect(existsSync(projectRunDir(roots, project))).toBe(false);
      const store = imageStoreDir(roots);
      for (const sub of ['images', 'layers', 'blobs/sha256']) expect(existsSync(join(store, sub)) ? readdirSync(join(store, sub)) : []).toEqual([]);
      return stderr;
    };

    beforeAll(async () => {
      let auth: string;
      if (mode === 'basic') {
        reg = await startRegistry({ auth: { username: USER, password: PASSWORD } });
        auth = basic(USER, PASSWORD);
      } else {
        tokens = await startTokenServer({ [USER]: PASSWORD });
        reg = await startRegistry({ token: { realm: tokens.realm, service: tokens.service, issuer: tokens.issuer, rootcertbundle: tokens.rootCertBundle } });
        auth = `Bearer ${tokens.issue(USER, ['repository:e2e/private:pull,push'])}`;
      }
      const pushed = await pushImage(reg, 'e2e/private', '1', [await busyboxLayer()], { Cmd: ['/bin/sh', '-c', `echo ${greeting}; exec sleep 3600`], Env: ['PATH=/bin'] }, auth);
      image = pushed.ref;
      // The registry really refuses anonymous pulls.
      const anonymous = await fetch(`${reg.url}/v2/e2e/private/manifests/1`);
      await anonymous.arrayBuffer();
      expect(anonymous.status).toBe(401);
      writeFileSync(spec, ['services:', '  app:', `    image: ${image}`, '  ok:', '    command: sleep 3600', ''].join('\n'));
    }, 60_000);

    afterAll(async () => {
      await stack('down', '-v', '--timeout', '0');
      await reg?.stop();
      await tokens?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('without credentials: exit 1 naming the registry, with a hint to log in that says where stack looks', async () => {
      rmSync(dockerConfig, { recursive: true, force: true });
      let stderr = await expectRefused();
      expect(stderr).toMatch(new RegExp(`^hint: log in to ${reg.host.replace(/\./g, '\\.')} \\(docker login ${reg.host.replace(/\./g, '\\.')}; stack reads .*\\$DOCKER_CONFIG/config\\.json or ~/\\.docker/config\\.json`, 'm'));
      // A config file that knows other registries only is the same.
      writeDockerConfig(undefined);
      stderr = await expectRefused();
      expect(stderr).toMatch(/^hint: log in to /m);
    }, 60_000);

    it('with wrong credentials in the docker config: exit 1 saying they were refused', async () => {
      writeDockerConfig('not the password');
      const stderr = await expectRefused();
      expect(stderr).toMatch(new RegExp(`^hint: the user name and password stack found for ${reg.host.replace(/\./g, '\\.')} .* were refused: log in again`, 'm'));
    }, 60_000);

    it('with the credentials of the docker config file: the service runs the image; down removes it', async () => {
      writeDockerConfig(PASSWORD);
      const up = await stack('up', '-d', '--progress', 'plain');
      expect(up.exitCode, String(up.stderr)).toBe(0);
      expect(up.stderr).toMatch(/e2e\/private:1: pulled sha256:/);
      const lines = await eventually('the image service\'s output', async () => {
        const l = readLogLines(serviceFiles(roots, project, 'app').log).map((x) => x.text);
        return l.includes(greeting) ? l : undefined;
      });
      expect(lines).toEqual([greeting]);
      const down = await stack('down', '--timeout', '0');
      expect(down.exitCode, String(down.stderr)).toBe(0);
      expect(existsSync(join(projectRunDir(roots, project), 'services'))).toBe(false);
    }, 120_000);
  });
}
