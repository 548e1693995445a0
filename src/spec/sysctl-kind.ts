// Which namespace a sysctl lives in (spec/sysctls.ts reads `sysctls:` with it). A module of its
// own, with no imports: the runtime checks a service's sysctls at each start, and importing them
// from sysctls.ts put the spec loader's shared chunk (interpolation, mounts, secrets: 29 KB,
// ~2.5 ms to load) on the path of every `restart` and `down`, which use nothing else of it.

/** The IPC sysctls namespaced by the kernel that Docker allows by name. */
const IPC_SYSCTLS: readonly string[] = [
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
];

/** Which namespace a sysctl lives in, or why it is not one stack sets. */
export type SysctlKind = { readonly ok: true; readonly namespace: 'net' | 'ipc' } | { readonly ok: false; readonly reason: string };

/** Classifies a sysctl name (dotted, as compose writes it). */
export function sysctlKind(name: string): SysctlKind {
  if (!/^[a-z0-9_]+(\.[A-Za-z0-9_@:+-]+)+$/.test(name)) return { ok: false, reason: 'is not a sysctl name (dotted, such as net.core.somaxconn)' };
  if (name.startsWith('net.')) return { ok: true, namespace: 'net' };
  if (IPC_SYSCTLS.includes(name) || name.startsWith('fs.mqueue.')) return { ok: true, namespace: 'ipc' };
  if (name.startsWith('kernel.') || name.startsWith('vm.') || name.startsWith('fs.')) {
    return { ok: false, reason: 'is not namespaced: setting it would change the whole host' };
  }
  return { ok: false, reason: 'is not one a service may set' };
}
