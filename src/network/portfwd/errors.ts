// Turns a failed bind of a published port into an error the user can act on.
import { AggregateStackError, UserError } from '../../errors.js';
import { type PublishedPort, portLabel } from './types.js';

/** PORT_IN_USE and friends, naming the port and the service; other errors pass through. */
export function bindError(port: PublishedPort, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException).code;
  const what = `${portLabel(port)} (published by service ${port.service})`;
  if (code === 'EADDRINUSE') {
    return new UserError(
      'PORT_IN_USE',
      `port ${what} is already in use on this host`,
      `stop what listens there (\`ss -lntup 'sport = :${port.hostPort}'\` shows it) or publish another host port`,
      { cause: e },
    );
  }
  if (code === 'EADDRNOTAVAIL') {
    return new UserError(
      'HOST_IP_UNAVAILABLE',
      `cannot publish ${what}: ${port.hostIp} is not an address of this host`,
      'use 127.0.0.1, 0.0.0.0 or one of the addresses `ip addr` lists',
      { cause: e },
    );
  }
  if (code === 'EACCES') {
    return new UserError(
      'PORT_PRIVILEGED',
      `cannot publish ${what}: ports below 1024 need root`,
      'publish a port of 1024 or more',
      { cause: e },
    );
  }
  return e as Error;
}

/** One error for several failed ports: a UserError (first one's code) when all are the user's to fix. */
export function combined(errors: readonly Error[]): Error {
  if (errors.length === 1) return errors[0]!;
  const all = new AggregateStackError('published ports cannot be bound', errors);
  const first = errors[0];
  if (errors.every((e) => e instanceof UserError) && first instanceof UserError) {
    return new UserError(first.code, all.message, 'free these ports or publish others', { cause: all });
  }
  return all;
}
