import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * Address ranges a public edge never dials for a player: loopback, link-local, private, CGNAT, unspecified,
 * multicast. (IPv4-mapped IPv6 addresses are checked against the IPv4 ranges by BlockList itself; a
 * `::ffff:0:0/96` rule would match every IPv4 address.)
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

/**
 * Whether the edge may use a remote ICE candidate a player named (`candidate:…` line, with or without the
 * `a=` prefix): a public edge refuses candidates at loopback, link-local, private and other non-public
 * addresses, and host names (mDNS `.local`), so a player cannot make it send to its own network or
 * localhost. The player is still reached: its real address shows up as a peer-reflexive candidate when
 * its checks arrive. `allowPrivate` (tests, a LAN or loopback deployment) accepts every address.
 */
export function remoteCandidateAllowed(candidate: string, allowPrivate: boolean): boolean {
  if (allowPrivate) return true;
  const fields = candidate.trim().replace(/^a=/, '').split(/\s+/);
  const address = fields[4];
  if (!fields[0]?.startsWith('candidate:') || address === undefined) return false;
  const plain = address.replace(/^\[|\]$/g, '');
  if (isIPv4(plain)) return !nonPublic.check(plain, 'ipv4');
  if (isIPv6(plain)) return !nonPublic.check(plain, 'ipv6');
  return false;
}

/** `sdp` without the `a=candidate` lines `remoteCandidateAllowed` refuses. */
export function filterSdpCandidates(sdp: string, allowPrivate: boolean): string {
  if (allowPrivate) return sdp;
  return sdp
    .split(/\r?\n/)
    .filter((line) => !line.startsWith('a=candidate:') || remoteCandidateAllowed(line, false))
    .join('\r\n');
}
