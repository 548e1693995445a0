// A netlink handle bound to one network namespace (vishvananda/netlink's Handle): its socket is
// opened inside the namespace, so every verb called with it acts there, while the process
// itself stays where it is (docs/architecture.md: setns on the main thread just long enough).
import { inNetns } from './netns.js';
import { NetlinkSocket } from './socket.js';

/** A netlink socket and the namespace it speaks for. */
export interface Handle {
  /** The named namespace, or undefined for the namespace the process runs in. */
  readonly netns: string | undefined;
  readonly socket: NetlinkSocket;
  /** ` in stk-p-web` (empty for the process's own namespace), appended to error calls. */
  readonly where: string;
  /** Closes the socket; the namespace is untouched. */
  close(): void;
}

/** Opens a handle in a named namespace, or in the current one when `netns` is undefined. */
export function openHandle(netns?: string): Handle {
  return netns === undefined ? handleHere(undefined) : inNetns(netns, () => handleHere(netns));
}

/**
 * A handle whose socket is opened in the namespace the calling thread is in now, named `netns`
 * (a namespace being made, entered already: netns.ts netnsAdd's `inside`).
 */
export function handleHere(netns: string | undefined): Handle {
  const socket = NetlinkSocket.open();
  return {
    netns,
    socket,
    where: netns === undefined ? '' : ` in ${netns}`,
    close: () => socket.close(),
  };
}

/** Runs `fn` with a handle in `netns` and closes it afterwards, also on error. */
export function withHandle<T>(netns: string | undefined, fn: (h: Handle) => T): T {
  const h = openHandle(netns);
  try {
    return fn(h);
  } finally {
    h.close();
  }
}
