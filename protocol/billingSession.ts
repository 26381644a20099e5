import Type, { type Static } from 'typebox';
import { type Hex, keccak256, stringToHex } from 'viem';

/**
 * Billing of one session (issue 9): which checkers take the session's per-period QoS reports, how many of them
 * decide (quorum), the period, and where the money lives. The matchmaker names it in the session answer; the
 * session token carries the checkers to the edge.
 */

/** The on-chain session id (bytes32) of a matchmaker session id: keccak256("farplay-session:" ‖ sid). */
export function billingSessionId(sessionId: string): Hex {
  return keccak256(stringToHex(`farplay-session:${sessionId}`));
}

/** A contract on a chain. */
export const ChainContract = Type.Object({
  chainId: Type.Integer({ minimum: 1 }),
  address: Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' }),
});
export type ChainContract = Static<typeof ChainContract>;

/** What the page needs to pay for and report on a session (part of the session answer). */
export const SessionBilling = Type.Object({
  /** The session's id on chain and at the checkers (`billingSessionId`). */
  sessionId: Type.String({ pattern: '^0x[0-9a-fA-F]{64}$' }),
  /** The edge's node address: the grant's `edge`. */
  edge: Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' }),
  /** ATH wei per billed period, decimal string: the grant's `pricePerMinute`. */
  pricePerMinute: Type.String({ pattern: '^[0-9]{1,78}$' }),
  /** Most periods the grant should allow (the deposit must cover price × this). */
  maxMinutes: Type.Integer({ minimum: 1 }),
  /** The session's checkers (base URLs); reports go to every one. */
  checkers: Type.Array(Type.String({ maxLength: 256 }), { maxItems: 16 }),
  /** How many checkers' attestations settle a minute. */
  quorum: Type.Integer({ minimum: 1 }),
  /** Length of one billed period, ms (part of the published policy). */
  periodMs: Type.Integer({ minimum: 100 }),
  /** The SessionEscrow (grants, deposits) and the StakingRegistry (the QoS reports' EIP-712 domain). */
  escrow: ChainContract,
  staking: ChainContract,
  /** The payments chain's JSON-RPC URL, when the matchmaker publishes one (local networks). */
  paymentsRpcUrl: Type.Optional(Type.String({ maxLength: 512 })),
  /** True when a faucet route (`POST /v1/faucet`) funds page wallets (local chains only). */
  faucet: Type.Optional(Type.Boolean()),
});
export type SessionBilling = Static<typeof SessionBilling>;

/** What the page learns before asking for a session (`GET /v1/billing`). */
export const NetworkBilling = Type.Object({
  /** Sessions are billed (checkers assigned, both ends report). */
  enabled: Type.Boolean(),
  /** A session needs a payer whose escrow deposit covers it. */
  requireDeposit: Type.Boolean(),
  periodMs: Type.Integer({ minimum: 0 }),
  maxMinutes: Type.Integer({ minimum: 0 }),
  escrow: Type.Optional(ChainContract),
  staking: Type.Optional(ChainContract),
  paymentsRpcUrl: Type.Optional(Type.String({ maxLength: 512 })),
  /** `POST /v1/faucet` funds page wallets (local chains only). */
  faucet: Type.Boolean(),
});
export type NetworkBilling = Static<typeof NetworkBilling>;
