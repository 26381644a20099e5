import Type, { type Static } from 'typebox';
import { type Hex, keccak256, stringToHex } from 'viem';

/**
 * Billing of one session (issue 9): which checkers take the session's per-period QoS reports, how many of them
 * decide (quorum), the period, and where the money lives. The matchmaker names it in the session answer; the
 * session token carries the checkers to the edge.
 */

/**
 * The on-chain session id (bytes32) of a session whose token names no `bid`: keccak256("farplay-session:" ‖ sid).
 * Such an id gets a ledger word of its own in the SessionEscrow (a fresh 22 100-gas word at settlement); the
 * matchmaker hands out ids in runs instead (`billingRunId`).
 */
export function billingSessionId(sessionId: string): Hex {
  return keccak256(stringToHex(`farplay-session:${sessionId}`));
}

/** Sessions per SessionEscrow ledger word: ids that differ only in their low 3 bits share one word per edge. */
export const BILLING_RUN_LENGTH = 8;

/**
 * The on-chain id of the `lane`-th session (0‥7) of a run of one edge's sessions, the run named by the session id
 * that opened it: (keccak256("farplay-billing-run:" ‖ runSid) with the low 3 bits cleared) | lane. The run's 8
 * sessions share one ledger word, so 7 of 8 settlements write a warm word. Only the matchmaker allocates runs
 * (`matchmaker/BillingRuns.ts`), from its own fresh session ids, each lane once, and signs the id into the session
 * token (`bid`) and answers it to the page, whose grant must name it: neither end chooses an id, so no one can
 * make a session share another's lane. The "farplay-billing-run:" prefix keeps run ids apart from
 * `billingSessionId`'s.
 */
export function billingRunId(runSid: string, lane: number): Hex {
  if (!Number.isInteger(lane) || lane < 0 || lane >= BILLING_RUN_LENGTH)
    throw new RangeError(`billing run lane ${lane} is not 0..${BILLING_RUN_LENGTH - 1}`);
  const base =
    BigInt(keccak256(stringToHex(`farplay-billing-run:${runSid}`))) & ~BigInt(BILLING_RUN_LENGTH - 1);
  return `0x${(base | BigInt(lane)).toString(16).padStart(64, '0')}`;
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
