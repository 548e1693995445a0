// Pure netlink codecs (rtnetlink, nf_tables; no FFI, no I/O): what the socket sends and what it gets back.
export * from './constants.js';
export * from './bytes.js';
export * from './attr.js';
export * from './message.js';
export * from './error.js';
export * from './ip.js';
export * from './link.js';
export * from './addr.js';
export * from './route.js';
export * from './nftables.js';
