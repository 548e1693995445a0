// What this host cannot run, though compose loads it: a `runtime:` other than runc (stack runs
// every service with its own launcher, a runc equivalent: no containerd shim such as
// io.containerd.wasmedge.v1, no gVisor, no Kata), and a `platform:` whose OS or architecture is
// not the host's (no emulation: the kernel cannot execute the image's programs). `config` warns
// (normalization, at file:line:col); `up`, `run` and `plan` refuse (planner/runnable.ts).
import { formatPlatform, hostPlatform, type PlatformSpec } from './platform.js';

/** The runtimes stack is: Docker's default name for what its launcher does. */
export const NATIVE_RUNTIMES: readonly string[] = ['runc'];

/** One thing the host cannot run, at `key` of the service. */
export interface HostProblem {
  readonly key: 'runtime' | 'platform';
  readonly code: 'RUNTIME_UNAVAILABLE' | 'PLATFORM_UNAVAILABLE';
  readonly message: string;
  readonly expected: string;
  readonly found: string;
  readonly hint: string;
}

/** What of service `name`'s runtime and platform this host cannot run (empty: all of it can). */
export function hostProblems(name: string, service: { readonly runtime?: string; readonly platform?: PlatformSpec }, host: PlatformSpec = hostPlatform()): HostProblem[] {
  const found: HostProblem[] = [];
  if (service.runtime !== undefined && !NATIVE_RUNTIMES.includes(service.runtime)) {
    found.push({
      key: 'runtime',
      code: 'RUNTIME_UNAVAILABLE',
      message: `service "${name}" needs runtime ${service.runtime}, which stack does not have: it runs every service as a Linux process with its own launcher (as runc does)`,
      expected: 'no `runtime:` (or runc)',
      found: service.runtime,
      hint: /wasm|wasi/i.test(service.runtime)
        ? 'run this service with Docker or containerd and the WasmEdge shim; stack cannot run WebAssembly modules'
        : `run this service with an engine that has ${service.runtime}, or remove \`runtime:\``,
    });
  }
  const p = service.platform;
  if (p !== undefined && (p.os !== host.os || p.architecture !== host.architecture)) {
    const wasm = p.os === 'wasi' || p.os === 'wasip1' || p.architecture === 'wasm';
    found.push({
      key: 'platform',
      code: 'PLATFORM_UNAVAILABLE',
      message: `service "${name}" is for platform ${formatPlatform(p)}, and this host runs ${formatPlatform(host)} programs only (stack does not emulate)`,
      expected: `${formatPlatform(host)}, or no \`platform:\``,
      found: formatPlatform(p),
      hint: wasm
        ? 'a WebAssembly image needs a WebAssembly runtime (Docker with the WasmEdge shim); stack cannot run it'
        : `use the image's ${host.os}/${host.architecture} variant (most images are multi-platform: remove \`platform:\`)`,
    });
  }
  return found;
}
