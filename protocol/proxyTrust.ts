import type { IncomingMessage } from 'node:http';
import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** Whether the hop `hop` (0 = the socket's peer) at `address` is a proxy whose `X-Forwarded-For` is believed. */
export type ProxyTrust = (address: string, hop: number) => boolean;

/**
 * The trusted-proxy setting as a function (what fastify's `trustProxy` also takes): '' → nobody (the client
 * is the socket's peer), a number → that many hops, else a comma-separated list of proxy addresses or CIDRs
 * (`10.0.0.0/8, 2001:db8::1`). Throws on an entry that is not an address.
 */
export function proxyTrust(spec: string): ProxyTrust {
  const trimmed = spec.trim();
  if (trimmed === '') return () => false;
  if (/^\d+$/.test(trimmed)) {
    const hops = Number(trimmed);
    return (_address, hop) => hop < hops;
  }
  const list = new BlockList();
  for (const entry of trimmed
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const [address = '', bits] = entry.split('/');
    const type = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
    if (!type) throw new Error(`trusted proxy "${entry}" is not an address or CIDR`);
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  return (address) => {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    const plain = mapped ?? address;
    if (isIPv4(plain)) return list.check(plain, 'ipv4');
    return isIPv6(plain) && list.check(plain, 'ipv6');
  };
}

/**
 * The client address of a raw request (a WebSocket upgrade, which fastify does not see): the socket's peer,
 * or, while that hop is a trusted proxy, the next address of `X-Forwarded-For` from the right.
 */
export function clientAddressOf(request: IncomingMessage, trust: ProxyTrust): string {
  const peer = request.socket.remoteAddress ?? '';
  const header = request.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .reverse();
  let address = peer;
  for (let hop = 0; hop < forwarded.length && trust(address, hop); hop++) {
    address = forwarded[hop] as string;
  }
  return address;
}
