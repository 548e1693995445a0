// The certificates of NODE_EXTRA_CA_CERTS for the CLI's TLS connections, added only when one is
// made. Run as a command, bin/stack.cjs starts Node without that variable (Node parses the bundle
// it names before any code runs: 40 ms of every command with Debian's 144 certificates on the
// 2-core kind of docs/performance.md) and leaves its value here, on the global
// `Symbol.for('stack.deferredCaCertificates')`. Before the first request (registry.ts, the
// builder's ADD of a URL), trustDeferredCertificates() makes fetch trust what Node would have:
// one secure context, made once, holding Node's own root store (the bundled roots, or OpenSSL's
// store under --use-openssl-ca, as Node's flags choose) with the bundle's certificates added,
// as Node adds them (the native context's addCACert, which copies the root store before adding;
// the bundle read as Node reads it: up to its first certificate that does not parse, said).
// Node's fetch (undici inside Node) takes it through the dispatcher set with undici's
// setGlobalDispatcher: an Agent whose connections use that context (a `ca` list instead would
// have each connection parse every root again: ~26 ms each here). An unreadable bundle is said as
// Node says it (a line on stderr) and ignored, as Node ignores it. Without the global (`node
// bin/stack.cjs`, or no such variable) nothing is done: Node loaded the bundle itself.
// node:tls and node:crypto are required when first needed (sys/builtin.ts): the packs of pull,
// push and build hold this module, and a pull from a registry spoken to over http loads neither.
import { readFileSync, writeSync } from 'node:fs';
import type { SecureContext } from 'node:tls';
import { cryptoModule, tlsModule } from './builtin.js';

const DEFERRED = Symbol.for('stack.deferredCaCertificates');

let trusting: Promise<void> | undefined;

/** The PEM certificates of a bundle, in order (text between them, such as comments, dropped). */
export function pemCertificates(text: string): string[] {
  return text.match(/-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----[^-]+-----END (?:X509 |TRUSTED )?CERTIFICATE-----/g) ?? [];
}

/** The bundle bin/stack.cjs kept Node from loading, if any. */
export function deferredCertificatesFile(): string | undefined {
  const file = (globalThis as Record<symbol, unknown>)[DEFERRED];
  return typeof file === 'string' && file !== '' ? file : undefined;
}

/**
 * A secure context trusting Node's default root store and the certificates of `bundle` (PEM).
 * Node's native context adds them as it adds NODE_EXTRA_CA_CERTS (a copy of the root store Node's
 * flags choose, with them added); a Node without that method gets its bundled roots and them.
 */
export function contextWithCertificates(certificates: readonly string[]): SecureContext {
  const { createSecureContext, rootCertificates } = tlsModule();
  const context = createSecureContext();
  const native = (context as unknown as { context?: { addCACert?: (pem: string) => void } }).context;
  if (typeof native?.addCACert === 'function') {
    if (certificates.length > 0) native.addCACert(certificates.join('\n'));
    return context;
  }
  return createSecureContext({ ca: [...rootCertificates, ...certificates] });
}

/**
 * The certificates of a bundle as Node takes NODE_EXTRA_CA_CERTS: in order, up to the first that
 * does not parse (Node keeps those before it, and says why it ignores the rest). A block of
 * trust settings (`TRUSTED CERTIFICATE`) counts as its certificate, as Node reads it.
 */
export function bundleCertificates(text: string): { certificates: string[]; error?: string } {
  const { X509Certificate } = cryptoModule();
  const certificates: string[] = [];
  for (const pem of pemCertificates(text)) {
    const plain = pem.replace(/-----(BEGIN|END) (?:X509 |TRUSTED )CERTIFICATE-----/g, '-----$1 CERTIFICATE-----');
    try {
      new X509Certificate(plain);
    } catch (e) {
      return { certificates, error: (e as Error).message };
    }
    certificates.push(plain);
  }
  return { certificates };
}

/** Makes fetch trust the certificates of NODE_EXTRA_CA_CERTS when Node was started without them (once a process). */
export function trustDeferredCertificates(): Promise<void> {
  const file = deferredCertificatesFile();
  if (file === undefined) return Promise.resolve();
  return (trusting ??= (async () => {
    const warn = (why: string): void => {
      try {
        writeSync(2, `Warning: Ignoring extra certs from \`${file}\`, load failed: ${why}\n`);
      } catch {
        // no stderr: nothing to tell it on
      }
    };
    let text: string;
    try {
      text = readFileSync(file, 'latin1');
    } catch (e) {
      return warn((e as NodeJS.ErrnoException).code ?? (e as Error).message);
    }
    const { certificates, error } = bundleCertificates(text);
    if (error !== undefined) warn(error);
    const secureContext = contextWithCertificates(certificates);
    const loaded = await import('undici');
    // undici is CommonJS: from the bundle its exports come as the module's default.
    const { Agent, setGlobalDispatcher } = (loaded as unknown as { default?: typeof loaded }).default ?? loaded;
    setGlobalDispatcher(new Agent({ connect: { secureContext } }));
  })());
}
