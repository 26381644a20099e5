import type { Address, Hex } from 'viem';
import type { SessionBilling } from '../../protocol/billingSession.js';
import type { Grant } from '../../protocol/eip712.js';

/** The grant of a billed session: its id, edge, price and maximum from the matchmaker, an expiry, the session key. */
export function grantFor(
  billing: SessionBilling,
  player: Address,
  sessionKey: Address,
  nowMs = Date.now(),
): Grant {
  return {
    sessionId: billing.sessionId as Hex,
    player,
    edge: billing.edge as Address,
    pricePerMinute: BigInt(billing.pricePerMinute),
    maxMinutes: billing.maxMinutes,
    expiry: BigInt(Math.floor(nowMs / 1000) + 86_400),
    sessionKey,
  };
}
