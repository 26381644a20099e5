import { keccak256, stringToHex } from 'viem';

/**
 * The `count` checkers of a session, from the configured list: ordered by keccak256(sessionId ‖ url), so the
 * choice follows from the session id (which the matchmaker draws) and neither the edge nor the player picks them.
 */
export function assignCheckers(sessionId: string, urls: readonly string[], count: number): string[] {
  return urls
    .map((url) => ({ url, rank: keccak256(stringToHex(`${sessionId}|${url}`)) }))
    .sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0))
    .slice(0, count)
    .map((x) => x.url);
}
