import { isIPv4, isIPv6 } from 'node:net';
import type { HoldLimit } from './store/MatchmakerStore.js';

/** What `reservationHolders` needs. */
export interface ReservationHoldersParameters {
  /** Lower-case session key address of the request, if any. */
  owner: string | undefined;
  /** The client address (fastify `request.ip`, through the trusted proxy when one is configured). */
  client: string | undefined;
  /** Most unconnected reservations per session key (0: no cap). */
  maxPerKey: number;
  /** Most unconnected reservations per client address (0: no cap). */
  maxPerClient: number;
}

/**
 * The holders a new reservation counts against (issue 8, nobody starves the network): its session key and
 * its client address. An IPv6 client counts by its /64 (one subscriber's whole prefix); an IPv4-mapped
 * address counts as the IPv4 address.
 */
export function reservationHolders(parameters: ReservationHoldersParameters): HoldLimit[] {
  const out: HoldLimit[] = [];
  if (parameters.owner && parameters.maxPerKey > 0) {
    out.push({ holder: `key:${parameters.owner}`, max: parameters.maxPerKey });
  }
  const client = parameters.client ? clientPrefix(parameters.client) : undefined;
  if (client && parameters.maxPerClient > 0)
    out.push({ holder: `ip:${client}`, max: parameters.maxPerClient });
  return out;
}

/** An IPv4 address as it is; an IPv6 address as its /64 prefix (`2001:db8:0:1::/64`); anything else undefined. */
export function clientPrefix(address: string): string | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] && isIPv4(mapped[1])) return mapped[1];
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return undefined;
  const [head = '', tail = ''] = address.toLowerCase().split('%')[0]?.split('::') ?? [];
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::')
    ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
