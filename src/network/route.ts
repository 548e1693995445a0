// Route verbs, one per `ip route` command, on a handle bound to a network namespace.
import type { Handle } from './handle.js';
import { linkIndex, type LinkRef } from './link.js';
import {
  AF_INET, decodeRoute, encodeRouteRequest, encodeRtMsg, NLM_F_CREATE, NLM_F_EXCL, parseCidr,
  RT_TABLE_MAIN, RTM_GETROUTE, RTM_NEWROUTE, type Route,
} from './nl/index.js';

export type { Route } from './nl/index.js';

/** A route to add: `dst` absent means the default route. */
export interface RouteSpec {
  /** `10.1.0.0/24`; omitted: `default`. */
  readonly dst?: string;
  readonly gateway?: string;
  readonly dev?: LinkRef;
  /** The name `dev` is known by, for messages, when `dev` is an index. */
  readonly devName?: string;
}

function describe(r: RouteSpec): string {
  const parts = [r.dst ?? 'default', r.gateway && `via ${r.gateway}`, r.dev !== undefined && `dev ${r.devName ?? r.dev}`];
  return parts.filter(Boolean).join(' ');
}

/** Adds a route to the main table. Equivalent to: `ip route add $dst|default [via $gw] [dev $dev]`. */
export function routeAdd(h: Handle, r: RouteSpec): void {
  const what = `${describe(r)}${h.where}`;
  const oif = r.dev === undefined || typeof r.dev === 'number' ? r.dev : linkIndex(h, r.dev, `RTM_NEWROUTE ${what}`);
  const body = encodeRouteRequest({
    ...(r.dst !== undefined ? { dst: parseCidr(r.dst) } : {}),
    ...(r.gateway !== undefined ? { gateway: r.gateway } : {}),
    ...(oif !== undefined ? { oif } : {}),
  });
  h.socket.request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, body, what);
}

/** Adds the default route via a gateway. Equivalent to: `ip route add default via $gateway`. */
export function routeAddDefault(h: Handle, gateway: string, dev?: LinkRef, devName?: string): void {
  routeAdd(h, { gateway, ...(dev !== undefined ? { dev } : {}), ...(devName !== undefined ? { devName } : {}) });
}

/** The main table's routes of one family. Equivalent to: `ip route show` (`ip -6 route show`). */
export function routeList(h: Handle, family: number = AF_INET): Route[] {
  return h.socket
    .dump(RTM_GETROUTE, encodeRtMsg({ family }), `dump${h.where}`)
    .map((m) => decodeRoute(m.body))
    .filter((r) => r.table === RT_TABLE_MAIN && r.family === family);
}
