// The launch keys as normalization reads them (sysctls, ulimits, oom_score_adj, domainname,
// group_add, dns, dns_search, dns_opt): both syntaxes, what the Service carries, and what is
// refused with which code at which key. The launcher's side is tested in test/e2e/keys-*.
import { describe, expect, test } from 'vitest';
import { sysctlKind } from '../../../src/spec/sysctl-kind.js';
import { loadWeb, web } from './web-spec.js';

function errors(body: string): { code: string; path: string }[] {
  const { structural, diagnostics } = loadWeb(body);
  return [...structural, ...diagnostics].filter((d) => d.severity === 'error').map((d) => ({ code: d.code, path: (d.path ?? []).join('.') }));
}

describe('sysctls', () => {
  test('map and list forms give the same sorted map; numbers become strings', () => {
    expect(web('sysctls:\n  net.ipv4.tcp_syncookies: 0\n  kernel.shmmax: 1000').sysctls).toEqual({ 'kernel.shmmax': '1000', 'net.ipv4.tcp_syncookies': '0' });
    expect(web('sysctls: ["net.ipv4.tcp_syncookies=0", "kernel.shmmax=1000"]').sysctls).toEqual({ 'kernel.shmmax': '1000', 'net.ipv4.tcp_syncookies': '0' });
  });
  test('absent: no field (a service hash does not change)', () => {
    expect('sysctls' in web('init: false')).toBe(false);
  });
  test('only namespaced ones: net.*, the IPC ones, fs.mqueue.*', () => {
    expect(sysctlKind('net.core.somaxconn')).toEqual({ ok: true, namespace: 'net' });
    expect(sysctlKind('kernel.sem')).toEqual({ ok: true, namespace: 'ipc' });
    expect(sysctlKind('fs.mqueue.msg_max')).toEqual({ ok: true, namespace: 'ipc' });
    for (const name of ['kernel.pid_max', 'vm.overcommit_memory', 'fs.file-max', 'kernel.hostname', 'abi.vsyscall32']) expect(sysctlKind(name).ok).toBe(false);
    expect(errors('sysctls:\n  vm.swappiness: 1\n  net.core.somaxconn: 5')).toEqual([{ code: 'BAD_SYSCTL', path: 'services.web.sysctls.vm.swappiness' }]);
    expect(errors('sysctls: ["kernel.pid_max=5", "oops"]').map((e) => `${e.code} ${e.path}`).sort()).toEqual(['BAD_SYSCTL services.web.sysctls.0', 'BAD_SYSCTL services.web.sysctls.1']);
  });
});

describe('sysctls and shared namespaces', () => {
  test('net.* with network_mode host or service:, IPC ones with ipc host are refused; ipc service: is allowed', () => {
    expect(errors('network_mode: host\nsysctls: {net.core.somaxconn: 5, kernel.sem: "1 2 3 4"}').filter((e) => e.code === 'CONFLICT')).toEqual([
      { code: 'CONFLICT', path: 'services.web.sysctls.net.core.somaxconn' },
    ]);
    expect(errors('ipc: host\nsysctls: {net.core.somaxconn: 5, kernel.shmmax: 1}').filter((e) => e.code === 'CONFLICT')).toEqual([
      { code: 'CONFLICT', path: 'services.web.sysctls.kernel.shmmax' },
    ]);
  });
});

describe('ulimits', () => {
  test('a number is soft and hard; a mapping gives both; -1 is unlimited', () => {
    expect(web('ulimits:\n  nofile: {soft: 1024, hard: 4096}\n  nproc: 65535\n  memlock: -1').ulimits).toEqual({
      memlock: { soft: -1, hard: -1 },
      nofile: { soft: 1024, hard: 4096 },
      nproc: { soft: 65535, hard: 65535 },
    });
  });
  test('unknown names, soft above hard, a missing half and non-numbers are refused', () => {
    expect(errors('ulimits:\n  core: {soft: 1}\n  stack: x').map((e) => e.path)).toEqual(expect.arrayContaining(['services.web.ulimits.core', 'services.web.ulimits.stack']));
    expect(errors('ulimits:\n  nofiles: 1\n  nproc: {soft: 5, hard: 4}')).toEqual([
      { code: 'BAD_ULIMIT', path: 'services.web.ulimits.nofiles' },
      { code: 'BAD_ULIMIT', path: 'services.web.ulimits.nproc' },
    ]);
  });
});

describe('oom_score_adj, domainname, group_add', () => {
  test('read as given', () => {
    const s = web('oom_score_adj: -500\ndomainname: corp.example\ngroup_add: [audio, 1001]');
    expect([s.oomScoreAdj, s.domainname, s.groupAdd]).toEqual([-500, 'corp.example', ['audio', '1001']]);
  });
  test('out of range, too long and malformed are refused', () => {
    expect(errors(`oom_score_adj: 1001\ndomainname: ${'d'.repeat(65)}\ngroup_add: ["a b"]`).map((e) => e.code)).toEqual(['BAD_OOM_SCORE_ADJ', 'BAD_DOMAINNAME', 'BAD_GROUP']);
  });
});

describe('dns, dns_search, dns_opt', () => {
  test('a string or a list each', () => {
    const s = web('dns: 1.1.1.1\ndns_search: example.com\ndns_opt: ["ndots:2"]');
    expect([s.dns, s.dnsSearch, s.dnsOpt]).toEqual([['1.1.1.1'], ['example.com'], ['ndots:2']]);
    expect(web('dns: [9.9.9.9, 1.1.1.1]').dns).toEqual(['9.9.9.9', '1.1.1.1']);
  });
  test('a name or an IPv6 server, a bad domain and a bad option are refused', () => {
    expect(errors('dns: [dns.google, "::1"]\ndns_search: ["bad domain"]\ndns_opt: ["nd ots"]').map((e) => `${e.code} ${e.path}`)).toEqual([
      'BAD_DNS services.web.dns.0',
      'BAD_DNS services.web.dns.1',
      'BAD_DNS_SEARCH services.web.dns_search.0',
      'BAD_DNS_OPT services.web.dns_opt.0',
    ]);
  });
});
