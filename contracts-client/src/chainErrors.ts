import {
  type Abi,
  BaseError,
  ContractFunctionRevertedError,
  decodeErrorResult,
  type Hex,
  HttpRequestError,
} from 'viem';
import { type ErrorCode, FarplayError } from '../../protocol/errors.js';
import { checkerRegistryAbi } from './abis/CheckerRegistry.js';
import { sessionEscrowAbi } from './abis/SessionEscrow.js';
import { stakingRegistryAbi } from './abis/StakingRegistry.js';
import { timelockControllerAbi } from './abis/TimelockController.js';

/** Contract custom-error name → FarplayError code. Unlisted reverts map to CHAIN_REVERTED. */
export const REVERT_CODES: Readonly<Record<string, ErrorCode>> = {
  GrantExpired: 'CHAIN_GRANT_EXPIRED',
  BadGrantSignature: 'CHAIN_BAD_SIGNATURE',
  BadEdgeSignature: 'CHAIN_BAD_SIGNATURE',
  ECDSAInvalidSignature: 'CHAIN_BAD_SIGNATURE',
  ECDSAInvalidSignatureS: 'CHAIN_BAD_SIGNATURE',
  MinutesBeyondGrant: 'CHAIN_BEYOND_GRANT',
  NothingToSettle: 'CHAIN_NOTHING_TO_SETTLE',
  InsufficientBalance: 'CHAIN_INSUFFICIENT_BALANCE',
  BelowQuorum: 'CHAIN_BELOW_QUORUM',
  SignersNotAscending: 'CHAIN_SIGNERS_UNSORTED',
  NotChecker: 'CHAIN_NOT_CHECKER',
  UnknownChecker: 'CHAIN_NOT_CHECKER',
  EndpointTooLong: 'CHAIN_ENDPOINT_TOO_LONG',
  StaleCheckerSet: 'CHAIN_STALE_CHECKER_SET',
  WithdrawalLocked: 'CHAIN_WITHDRAWAL_LOCKED',
  WithdrawalExpired: 'CHAIN_WITHDRAWAL_EXPIRED',
  NoWithdrawalRequested: 'CHAIN_NO_WITHDRAWAL',
  StillUnbonding: 'CHAIN_STILL_UNBONDING',
  NothingUnbonding: 'CHAIN_NO_WITHDRAWAL',
  BelowMinimumStake: 'CHAIN_STAKE_TOO_LOW',
  InsufficientShares: 'CHAIN_STAKE_TOO_LOW',
  UnknownEdge: 'CHAIN_UNKNOWN_EDGE',
  EdgeInactive: 'CHAIN_UNKNOWN_EDGE',
  InvalidEvidence: 'CHAIN_INVALID_EVIDENCE',
  EvidenceUsed: 'CHAIN_EVIDENCE_USED',
  InvalidPlayerReport: 'CHAIN_INVALID_PLAYER_REPORT',
  NotRefuted: 'CHAIN_NOT_REFUTED',
  SlashOrderExpired: 'CHAIN_SLASH_EXPIRED',
  PoolDepleted: 'CHAIN_POOL_DEPLETED',
  ZeroTreasury: 'CHAIN_BAD_CONFIG',
  ZeroDelay: 'CHAIN_BAD_CONFIG',
  OwnableUnauthorizedAccount: 'CHAIN_NOT_AUTHORIZED',
  AccessControlUnauthorizedAccount: 'CHAIN_NOT_AUTHORIZED',
  TimelockUnexpectedOperationState: 'CHAIN_NOT_AUTHORIZED',
};

const KNOWN_ABIS: readonly Abi[] = [
  sessionEscrowAbi,
  stakingRegistryAbi,
  checkerRegistryAbi,
  timelockControllerAbi,
];

/** Decodes revert data against every Farplay contract: a revert bubbled up through the timelock has the target's error. */
function decodeAny(
  raw: Hex | undefined,
): { errorName: string; args?: readonly unknown[] | undefined } | undefined {
  if (raw === undefined || raw.length < 10) return undefined;
  for (const abi of KNOWN_ABIS) {
    try {
      return decodeErrorResult({ abi, data: raw });
    } catch {
      // not this contract's error
    }
  }
  return undefined;
}

/**
 * Wraps a viem error as a FarplayError: a decoded custom revert gets its CHAIN_* code (details carry the
 * revert's name and args), an unreachable node CHAIN_UNAVAILABLE, anything else CHAIN_REVERTED.
 */
export function toChainError(error: unknown): FarplayError {
  if (error instanceof FarplayError) return error;
  if (error instanceof BaseError) {
    const revert = error.walk((e) => e instanceof ContractFunctionRevertedError);
    if (revert instanceof ContractFunctionRevertedError) {
      const decoded = revert.data ?? decodeAny(revert.raw);
      const name = decoded?.errorName;
      const code = (name !== undefined ? REVERT_CODES[name] : undefined) ?? 'CHAIN_REVERTED';
      return new FarplayError(code, name ?? revert.shortMessage, {
        details: { revert: name, args: decoded?.args?.map(String) },
        cause: error,
      });
    }
    if (error.walk((e) => e instanceof HttpRequestError) !== null) {
      return new FarplayError('CHAIN_UNAVAILABLE', undefined, { cause: error });
    }
    return new FarplayError('CHAIN_REVERTED', error.shortMessage, { cause: error });
  }
  return new FarplayError('CHAIN_REVERTED', error instanceof Error ? error.message : String(error), {
    cause: error,
  });
}
