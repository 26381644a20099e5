import type { Address, PublicClient } from 'viem';
import { sessionEscrowAbi } from './abis/SessionEscrow.js';
import { toChainError } from './chainErrors.js';
import type { EscrowRef } from './escrow.js';

/** A player's escrow balance as the matchmaker and the page need it (ATH wei; times in unix seconds). */
export interface GetPlayerBalanceResult {
  /** Everything in escrow: what settlements draw on. */
  balance: bigint;
  /** The withdrawal requested and not expired (at most `balance`); 0 when none is pending. */
  pendingWithdrawal: bigint;
  /** `balance - pendingWithdrawal`: what new sessions may spend. Start a session only if it covers the grant. */
  available: bigint;
  /** When the pending withdrawal can be claimed, and after which it has expired; both 0 when none is pending. */
  unlockAt: number;
  expiresAt: number;
}

/**
 * Reads `player`'s balance from the escrow at the current block, counting a pending withdrawal as spent. A session
 * whose grant (price x maxMinutes, plus the player's other open grants) `available` covers at its start is paid in
 * full if the edge settles within the escrow's `withdrawDelay` of that start (contracts-client/README.md).
 */
export async function getPlayerBalance(
  publicClient: PublicClient,
  escrow: EscrowRef,
  player: Address,
): Promise<GetPlayerBalanceResult> {
  try {
    const [balance, pendingWithdrawal, available, unlockAt, expiresAt] = await publicClient.readContract({
      address: escrow.address,
      abi: sessionEscrowAbi,
      functionName: 'playerBalance',
      args: [player],
    });
    return { balance, pendingWithdrawal, available, unlockAt, expiresAt };
  } catch (error) {
    throw toChainError(error);
  }
}
