// A service's name files (src/executor/handlers/names.ts): made with their folder on libuv's
// threads, each written only when its text changed, and in place (a bound file is an inode).
import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeNameFiles } from '../../../src/executor/handlers/names.js';
import type { RunContext } from '../../../src/executor/context.js';
import type { IpamRecord } from '../../../src/network/ipam.js';
import type { Project } from '../../../src/spec/project.js';
import { stateRoots, type StateRoots } from '../../../src/state/paths.js';
import { serviceFiles } from '../../../src/state/service-files.js';

let dir: string;
let roots: StateRoots;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'stack-names-'));
  roots = stateRoots({ STACK_ROOT: dir });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const ipam: IpamRecord = {
  version: 1,
  networks: { default: { subnet: '10.209.0.0/24', gateway: '10.209.0.1', addresses: { web: '10.209.0.2', db: '10.209.0.3' } } },
};

/** The parts of a run the name files are made from: the project's services on one network, its allocation. */
function run(hostname = 'web'): RunContext {
  const service = (name: string, host: string) => ({ name, hostname: host, networks: { default: { aliases: [], priority: 0 } }, extraHosts: [] });
  const project = { name: 'shop', services: { web: service('web', hostname), db: service('db', 'db') }, networks: {} } as unknown as Project;
  return { roots, project, ipam } as unknown as RunContext;
}

const mode = (path: string) => statSync(path).mode & 0o777;

describe('writeNameFiles', () => {
  it('makes the runtime folder 0700 and the three files 0644, with the service and its peers named', async () => {
    await writeNameFiles(run(), 'web');
    const files = serviceFiles(roots, 'shop', 'web');
    expect(mode(files.dir)).toBe(0o700);
    for (const f of [files.hosts, files.hostname, files.resolvConf]) expect(mode(f)).toBe(0o644 & ~process.umask()); // as open(2) makes them
    expect(readFileSync(files.hostname, 'utf8')).toBe('web\n');
    expect(readFileSync(files.hosts, 'utf8')).toMatch(/^10\.209\.0\.2\tweb$/m);
    expect(readFileSync(files.hosts, 'utf8')).toMatch(/^10\.209\.0\.3\tdb$/m);
    expect(readFileSync(files.resolvConf, 'utf8')).toMatch(/^nameserver 10\.209\.0\.1$/m);
  });

  it('leaves a file that holds its text alone, and rewrites a changed one in place', async () => {
    await writeNameFiles(run(), 'web');
    const files = serviceFiles(roots, 'shop', 'web');
    const past = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000); // whole seconds: mtimeMs reads them back exactly
    for (const f of [files.hosts, files.hostname, files.resolvConf]) utimesSync(f, past, past);
    const before = statSync(files.hostname);
    await writeNameFiles(run('www'), 'web');
    const after = statSync(files.hostname);
    expect(readFileSync(files.hostname, 'utf8')).toBe('www\n');
    expect(after.ino).toBe(before.ino); // the same inode: a view that bound it sees the new text
    expect(after.mtimeMs).toBeGreaterThan(past.getTime());
    expect(statSync(files.resolvConf).mtimeMs).toBe(past.getTime()); // its text did not change
  });

  it('writes every file into a folder made meanwhile by someone else', async () => {
    const files = serviceFiles(roots, 'shop', 'web');
    mkdirSync(files.dir, { recursive: true, mode: 0o700 });
    writeFileSync(files.hostname, 'stale\n');
    await writeNameFiles(run(), 'web');
    expect(readFileSync(files.hostname, 'utf8')).toBe('web\n');
    expect(readFileSync(files.hosts, 'utf8')).toMatch(/\tweb$/m);
    expect(readFileSync(files.resolvConf, 'utf8')).toMatch(/^nameserver /m);
  });
});
