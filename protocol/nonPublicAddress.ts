import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * Address ranges that are not a public Internet host: unspecified, private, CGNAT, loopback, link-local,
 * IETF protocol assignments, benchmarking, multicast and reserved; in IPv6 also NAT64 local-use, unique-local,
 * link-local and multicast. The documentation ranges (RFC 5737, RFC 3849) are a separate list: tests use them as
 * stand-ins for public addresses. (IPv4-mapped IPv6 addresses are checked against the
 * IPv4 ranges by BlockList itself; a `::ffff:0:0/96` rule would match every IPv4 address.)
 */
const nonPublic = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const) {
  nonPublic.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 127],
  ['64:ff9b:1::', 48],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  nonPublic.addSubnet(net, bits, 'ipv6');
}

const documentation = new BlockList();
for (const net of ['192.0.2.0', '198.51.100.0', '203.0.113.0']) documentation.addSubnet(net, 24, 'ipv4');
documentation.addSubnet('2001:db8::', 32, 'ipv6');

/** The address family of `address` (no brackets), or undefined when it is not an IP address. */
export function ipFamily(address: string): 'ipv4' | 'ipv6' | undefined {
  return isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
}

/**
 * True when `address` is outside the public Internet (the ranges above); with `documentation`, the
 * documentation ranges count as not public too.
 */
export function isNonPublicAddress(
  address: string,
  family: 'ipv4' | 'ipv6',
  options: { documentation?: boolean } = {},
): boolean {
  return (
    nonPublic.check(address, family) ||
    (options.documentation === true && documentation.check(address, family))
  );
}
