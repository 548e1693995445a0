// The DNS side of stack's networks: a forwarder per project on each network's gateway.
export { startDnsForwarder, type DnsForwarder, type DnsListener, type DnsOptions } from './forwarder.js';
export { parseResolvConf, type HostResolvers } from './resolvconf.js';
export { dnsListeners } from './listeners.js';
export { type Upstream } from './upstream.js';
export { parseQuery, answer, failure, RCODE, TYPE, type Query } from './codec.js';
