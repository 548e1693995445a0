// The seccomp profile format (Docker's JSON) and `security_opt:` as a spec states them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { DEFAULT_SECCOMP_PROFILE } from '../../../src/runtime/seccomp/index.js';
import { loadProject } from '../../../src/spec/index.js';
import { normalize } from '../../../src/spec/normalize.js';
import { checkSeccompProfile, parseSeccompProfile } from '../../../src/spec/seccomp-profile.js';
import { validate } from '../../../src/spec/validate.js';
import { rawSpec } from '../spec-validate/raw-spec.js';

const dir = mkdtempSync(join(tmpdir(), 'stack-seccomp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Normalizes a spec whose service `web` has `security_opt: opts`, in the temp folder. */
function load(opts: string[]) {
  const yaml = `services:\n  web:\n    command: ["true"]\n    security_opt: ${JSON.stringify(opts)}\n`;
  const raw = rawSpec(yaml, { workingDir: dir });
  expect(validate(raw).filter((d) => d.severity === 'error')).toEqual([]);
  return normalize(raw, { profiles: [], seccompProfile: parseSeccompProfile });
}

describe('the profile format', () => {
  test("stack's own default is a valid profile of the format it reads", () => {
    expect(checkSeccompProfile(DEFAULT_SECCOMP_PROFILE)).toEqual({ ok: true, profile: DEFAULT_SECCOMP_PROFILE });
  });

  test('a profile in Docker\'s format is read, unknown keys dropped and null lists allowed', () => {
    const r = parseSeccompProfile(
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ERRNO',
        archMap: [{ architecture: 'SCMP_ARCH_RISCV64', subArchitectures: null }],
        syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13, args: null, comment: 'no folders', extra: 1 }],
      }),
    );
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.profile.syscalls?.[0]).toEqual({ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13, args: null, comment: 'no folders' });
  });

  test.each([
    ['{"defaultAction": "SCMP_ACT_ERRNO",', /^not JSON: /],
    ['{"defaultAction": "SCMP_ACT_NOPE"}', /^defaultAction: expected one of SCMP_ACT_KILL, /],
    ['{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 7, "value": 1, "op": "SCMP_CMP_EQ"}]}]}', /^syscalls\[0\]\.args\[0\]\.index: /],
    ['{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "EQ"}]}]}', /^syscalls\[0\]\.args\[0\]\.op: expected one of SCMP_CMP_NE/],
    ['{"syscalls": [{"names": ["x"], "action": "SCMP_ACT_ERRNO"}]}', /^defaultAction: missing/],
    ['{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"name": "x", "names": ["y"], "action": "SCMP_ACT_ERRNO"}]}', /both 'name' and 'names'/],
    ['{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"action": "SCMP_ACT_ERRNO"}]}', /^syscalls\[0\]: names: no syscall named/],
    ['{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}', /both 'architectures' and 'archMap'/],
    ['{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock"}', /seccomp agent/],
    ['{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "5"}}]}', /^syscalls\[0\]\.includes\.minKernel: a kernel version/],
  ])('%s is refused: %s', (text, reason) => {
    const r = parseSeccompProfile(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });
});

describe('security_opt', () => {
  test('absent: the default profile', () => {
    const { project, diagnostics } = load([]);
    expect(diagnostics).toEqual([]);
    expect(project.services.web!.seccomp).toEqual({ mode: 'default' });
  });

  test.each([['seccomp=unconfined'], ['seccomp:unconfined']])('%s: no filter', (opt) => {
    const { project, diagnostics } = load([opt]);
    expect(diagnostics).toEqual([]);
    expect(project.services.web!.seccomp).toEqual({ mode: 'unconfined' });
    expect(project.services.web!.securityOpt).toEqual([opt]);
  });

  test('seccomp=builtin and no-new-privileges in its spellings are accepted as they are', () => {
    const { project, diagnostics } = load(['seccomp=builtin', 'no-new-privileges', 'no-new-privileges:true', 'no-new-privileges=true']);
    expect(diagnostics).toEqual([]);
    expect(project.services.web!.seccomp).toEqual({ mode: 'default' });
  });

  test('seccomp=FILE reads the profile relative to the project folder', () => {
    const profile = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] };
    writeFileSync(join(dir, 'deny-mkdir.json'), JSON.stringify(profile));
    const { project, diagnostics } = load(['seccomp=./deny-mkdir.json']);
    expect(diagnostics).toEqual([]);
    expect(project.services.web!.seccomp).toEqual({ mode: 'file', path: join(dir, 'deny-mkdir.json'), profile });
  });

  test('loading the project (what the CLI does) gives normalize the profile reader', async () => {
    const folder = mkdtempSync(join(dir, 'project-'));
    writeFileSync(join(folder, 'deny.json'), JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] }));
    writeFileSync(join(folder, 'compose.yaml'), 'services:\n  web:\n    command: ["true"]\n    security_opt: ["seccomp=./deny.json"]\n');
    const { project } = await loadProject({ cwd: folder, env: {} });
    expect(project.services.web!.seccomp).toMatchObject({ mode: 'file', path: join(folder, 'deny.json') });
  });

  test('a missing or bad profile file is an error at the entry naming the file and the problem', () => {
    writeFileSync(join(dir, 'bad.json'), '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "DENY"}]}');
    const bad = load(['seccomp=bad.json']).diagnostics;
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ severity: 'error', code: 'SECCOMP_PROFILE', location: { line: 4 } });
    expect(bad[0]!.message).toContain(`seccomp profile ${join(dir, 'bad.json')}: syscalls[0].action: expected one of SCMP_ACT_KILL`);
    const missing = load(['seccomp=nowhere.json']).diagnostics;
    expect(missing[0]).toMatchObject({ severity: 'error', code: 'SECCOMP_PROFILE' });
    expect(missing[0]!.message).toContain(`${join(dir, 'nowhere.json')} (ENOENT)`);
  });

  test('labels and AppArmor warn; no-new-privileges:false warns (stack always sets it); others are errors', () => {
    const { diagnostics } = load(['label=disable', 'apparmor=unconfined', 'no-new-privileges:false', 'systempaths=unconfined', 'seccomp', 'no-new-privileges=maybe']);
    expect(diagnostics.map((d) => [d.severity, d.code])).toEqual([
      ['warning', 'SECURITY_OPT_IGNORED'],
      ['warning', 'SECURITY_OPT_IGNORED'],
      ['warning', 'NO_NEW_PRIVILEGES'],
      ['error', 'BAD_SECURITY_OPT'],
      ['error', 'BAD_SECURITY_OPT'],
      ['error', 'BAD_SECURITY_OPT'],
    ]);
  });
});
