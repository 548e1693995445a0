// A TCP port on 127.0.0.1 that nothing listens on right now (the kernel picks it), for tests
// that publish a port or start a server of their own.
import { createServer, type AddressInfo } from 'node:net';

/** A free port on 127.0.0.1 (free when this resolves; a test binds it soon after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
