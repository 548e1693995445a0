// The network layer's kernel-facing verbs: named netns, netlink handles bound to them, and one
// verb per `ip` command. Loading this module does not load koffi; the first verb call does.
export {
  NETNS_RUN_DIR, netnsAdd, netnsDelete, netnsExists, netnsList, netnsOpen, netnsPath, inNetns,
} from './netns.js';
export { openHandle, withHandle, type Handle } from './handle.js';
export { NetlinkSocket } from './socket.js';
export {
  linkAddBridge, linkAddVeth, linkDel, linkDelGroup, linkDelMany, linkGet, linkIndex, linkList, linkSetAlias, linkSetDown,
  linkSetMaster, linkSetMtu, linkSetName, linkSetNoMaster, linkSetUp,
  type Link, type LinkAddOptions, type LinkRef, type VethPeer,
} from './link.js';
export { addrAdd, addrList, type Address } from './addr.js';
export { routeAdd, routeAddDefault, routeList, type Route, type RouteSpec } from './route.js';
export {
  attachRequests, openNetworkDriver, ownerAlias, parseOwnerAlias, projectLinkGroup, projectLinkNames,
  setupProjectNetwork, teardownProjectNetwork,
  type AttachRequest, type LinkOwner, type NetworkDriver, type ProjectNetworkSpec, type ServiceAttachment,
} from './setup.js';
export {
  observeProjectNetwork, type ObservedBridge, type ObservedNetwork, type ObservedService, type ObservedVeth,
} from './observe.js';
