import { ipFamily, isNonPublicAddress } from '../../protocol/nonPublicAddress.js';

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
  const family = ipFamily(plain);
  return family !== undefined && !isNonPublicAddress(plain, family);
}

/** `sdp` without the `a=candidate` lines `remoteCandidateAllowed` refuses. */
export function filterSdpCandidates(sdp: string, allowPrivate: boolean): string {
  if (allowPrivate) return sdp;
  return sdp
    .split(/\r?\n/)
    .filter((line) => !line.startsWith('a=candidate:') || remoteCandidateAllowed(line, false))
    .join('\r\n');
}
