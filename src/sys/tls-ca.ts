// The certificates of NODE_EXTRA_CA_CERTS for the CLI's TLS connections, added only when one is
// made. Run as a command, bin/stack.cjs starts Node without that variable (Node parses the bundle
// it names before any code runs: 40 ms of every command with Debian's 144 certificates on the
// 2-core kind of docs/performance.md) and leaves its value here, on the global
// `Symbol.for('stack.deferredCaCertificates')`. Before the first request (registry.ts, the
// builder's ADD of a URL), trustDeferredCertificates() makes fetch trust Node's own roots and those
// certificates, as Node would have from the start: its fetch (undici inside Node) takes the
// dispatcher set with undici's setGlobalDispatcher, here an Agent whose TLS connections verify
// against both. An unreadable bundle is said as Node says it (a warning) and ignored, as Node
// ignores it. Without the global (`node bin/stack.cjs`, or no such variable) nothing is done:
// Node loaded the bundle itself.
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';

const DEFERRED = Symbol.for('stack.deferredCaCertificates');

let trusting: Promise<void> | undefined;

/** The PEM certificates of a bundle, in order (text between them, such as comments, dropped). */
export function pemCertificates(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
}

/** The bundle bin/stack.cjs kept Node from loading, if any. */
export function deferredCertificatesFile(): string | undefined {
  const file = (globalThis as Record<symbol, unknown>)[DEFERRED];
  return typeof file === 'string' && file !== '' ? file : undefined;
}

/** Makes fetch trust the certificates of NODE_EXTRA_CA_CERTS when Node was started without them (once a process). */
export function trustDeferredCertificates(): Promise<void> {
  const file = deferredCertificatesFile();
  if (file === undefined) return Promise.resolve();
  return (trusting ??= (async () => {
    let extra: string[];
    try {
      extra = pemCertificates(readFileSync(file, 'utf8'));
    } catch (e) {
      process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      return;
    }
    const loaded = await import('undici');
    // undici is CommonJS: from the bundle its exports come as the module's default.
    const { Agent, setGlobalDispatcher } = (loaded as unknown as { default?: typeof loaded }).default ?? loaded;
    setGlobalDispatcher(new Agent({ connect: { ca: [...rootCertificates, ...extra] } }));
  })());
}
