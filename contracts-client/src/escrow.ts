import {
  type Address,
  concatHex,
  type Hex,
  type LocalAccount,
  numberToHex,
  type PublicClient,
  parseEventLogs,
  recoverTypedDataAddress,
  type TransactionReceipt,
  type TypedDataDomain,
  zeroAddress,
} from 'viem';
import {
  type Attestation,
  type AttestationBatch,
  attestationBatchTypes,
  attestationTypes,
  escrowDomain,
  type Grant,
  grantHash,
  grantTypes,
} from '../../protocol/eip712.js';
import { type ErrorCode, FarplayError } from '../../protocol/errors.js';
import { sessionEscrowAbi } from './abis/SessionEscrow.js';
import { type CheckerSet, sortAddresses } from './checkers.js';
import { approveToken, type ChainClients, isCanonicalSignature, type Sig, sendTx, toSig } from './tx.js';

/** Where a SessionEscrow lives: its domain binds grants and attestations to this chain and contract. */
export interface EscrowRef {
  address: Address;
  chainId: number;
}

/** The EIP-712 domain of an escrow. */
export function domainOf(escrow: EscrowRef): TypedDataDomain {
  return escrowDomain(escrow.chainId, escrow.address);
}

/** The player signs a grant (once per session) with their wallet's local account. */
export function signGrant(player: LocalAccount, escrow: EscrowRef, grant: Grant): Promise<Hex> {
  return player.signTypedData({
    domain: domainOf(escrow),
    types: grantTypes,
    primaryType: 'Grant',
    message: grant,
  });
}

/**
 * True when `signature` is the grant's player's signature for this escrow, exactly as the contract decides: same
 * digest, and only the canonical low-s form (the high-s twin of a valid signature is refused there, so here too).
 */
export async function verifyGrant(escrow: EscrowRef, grant: Grant, signature: Hex): Promise<boolean> {
  if (!isCanonicalSignature(signature)) return false;
  const signer = await recoverTypedDataAddress({
    domain: domainOf(escrow),
    types: grantTypes,
    primaryType: 'Grant',
    message: grant,
    signature,
  }).catch(() => undefined);
  return signer !== undefined && signer.toLowerCase() === grant.player.toLowerCase();
}

/**
 * The attestation checkers sign for `minutes` cumulative billable minutes of the session played under `grant`:
 * it binds the grant (its struct hash), so it settles that grant and no other one for the same session id.
 */
export function attestationOf(grant: Grant, minutes: number, policyHash: Hex): Attestation {
  return { sessionId: grant.sessionId, grantHash: grantHash(grant), minutes, policyHash };
}

/** A checker signs its cumulative attestation for one session (build it with `attestationOf`). */
export function signAttestation(
  checker: LocalAccount,
  escrow: EscrowRef,
  attestation: Attestation,
): Promise<Hex> {
  return checker.signTypedData({
    domain: domainOf(escrow),
    types: attestationTypes,
    primaryType: 'Attestation',
    message: attestation,
  });
}

/** The address that signed `attestation`, or undefined for a malformed or high-s signature (the contract refuses both). */
export async function recoverAttestationSigner(
  escrow: EscrowRef,
  attestation: Attestation,
  signature: Hex,
): Promise<Address | undefined> {
  if (!isCanonicalSignature(signature)) return undefined;
  return recoverTypedDataAddress({
    domain: domainOf(escrow),
    types: attestationTypes,
    primaryType: 'Attestation',
    message: attestation,
    signature,
  }).catch(() => undefined);
}

/** True when `signature` over `attestation` is `checker`'s. */
export async function verifyAttestation(
  escrow: EscrowRef,
  attestation: Attestation,
  signature: Hex,
  checker: Address,
): Promise<boolean> {
  const signer = await recoverAttestationSigner(escrow, attestation, signature);
  return signer !== undefined && signer.toLowerCase() === checker.toLowerCase();
}

/** A checker signs one attestation over a whole batch (the exact sessions and order the batch settles). */
export function signAttestationBatch(
  checker: LocalAccount,
  escrow: EscrowRef,
  batch: AttestationBatch,
): Promise<Hex> {
  return checker.signTypedData({
    domain: domainOf(escrow),
    types: attestationBatchTypes,
    primaryType: 'AttestationBatch',
    message: { sessions: [...batch.sessions], policyHash: batch.policyHash },
  });
}

/** A checker's signature with the signer it claims; settle sorts by signer as the contract requires. */
export interface CheckerSignature {
  signer: Address;
  signature: Hex;
}

/** Signatures strictly ascending by signer, as the contracts require. */
export function sortSignatures(signatures: readonly CheckerSignature[]): CheckerSignature[] {
  return [...signatures].sort((a, b) => {
    const x = BigInt(a.signer);
    const y = BigInt(b.signer);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/** Sorts signatures strictly ascending by signer and makes them compact (the staking registry's form). */
export function sortBySigner(signatures: readonly CheckerSignature[]): Sig[] {
  return sortSignatures(signatures).map((s) => toSig(s.signature));
}

/** One session of a settlement: the grant, the player's signature over it and the attested cumulative minutes. */
export interface SessionSettlement {
  grant: Grant;
  grantSignature: Hex;
  minutes: number;
}

const u = (value: number | bigint, bytes: number): Hex => numberToHex(value, { size: bytes });

/**
 * The packed calldata blob `settle` / `batchSettle` take (layout in SessionEscrow.sol): the checker block
 * (policyHash, quorum, n, k, a mask of which checkers signed, the checkers that did not sign, the k compact
 * signatures in the order given) and one 184-byte record per session. Signers are not sent: the contract recovers
 * them and merges them back into the set by the mask before checking the set's hash. Packing instead of ABI structs
 * saves the zero padding and offsets; leaving out the signers saves 20 bytes per signature.
 */
export function encodeSettlement(
  set: CheckerSet,
  signatures: readonly CheckerSignature[],
  sessions: readonly SessionSettlement[],
): Hex {
  const checkers = sortAddresses(set.checkers);
  const n = checkers.length;
  const k = signatures.length;
  if (n > 255 || k > n || set.quorum > 255) {
    throw new FarplayError('CHAIN_BAD_CONFIG', 'at most 255 checkers, and no more signatures than checkers');
  }
  const signed = new Set(signatures.map((s) => s.signer.toLowerCase()));
  let mask = 0n;
  checkers.forEach((c, i) => {
    if (signed.has(c.toLowerCase())) mask |= 1n << BigInt(i);
  });
  // Exactly n - k non-signers keep the layout well-formed even for a bad signer list (which the contract refuses
  // with the precise reason: unsorted, duplicate, not a checker).
  const others = checkers.filter((c) => !signed.has(c.toLowerCase())).slice(0, n - k);
  while (others.length < n - k) others.push(zeroAddress);
  const parts: Hex[] = [
    set.policyHash,
    u(set.quorum, 1),
    u(n, 1),
    u(k, 1),
    ...(n > 0 ? [u(mask, Math.ceil(n / 8))] : []),
    ...others,
    ...signatures.flatMap((s) => {
      const sig = toSig(s.signature);
      return [sig.r, sig.vs];
    }),
  ];
  for (const s of sessions) {
    const g = s.grant;
    const sig = toSig(s.grantSignature);
    parts.push(
      g.sessionId,
      g.player,
      u(g.pricePerMinute, 12),
      g.edge,
      u(g.maxMinutes, 4),
      u(g.expiry, 8),
      g.sessionKey,
      u(s.minutes, 4),
      sig.r,
      sig.vs,
    );
  }
  return concatHex(parts);
}

/** Approves and deposits `amount` ATH wei into the caller's escrow balance. */
export async function deposit(clients: ChainClients, escrow: EscrowRef, token: Address, amount: bigint) {
  await approveToken(clients, token, escrow.address, amount);
  return sendTx(clients, {
    address: escrow.address,
    abi: sessionEscrowAbi,
    functionName: 'deposit',
    args: [amount],
  });
}

/** Approves and deposits `amount` ATH wei from the caller into `player`'s escrow balance. */
export async function depositFor(
  clients: ChainClients,
  escrow: EscrowRef,
  token: Address,
  player: Address,
  amount: bigint,
) {
  await approveToken(clients, token, escrow.address, amount);
  return sendTx(clients, {
    address: escrow.address,
    abi: sessionEscrowAbi,
    functionName: 'depositFor',
    args: [player, amount],
  });
}

export interface SettleParameters {
  grant: Grant;
  grantSignature: Hex;
  /** Cumulative billable minutes the checkers attested. */
  minutes: number;
  /**
   * Checker signatures over `attestationOf(grant, minutes, set.policyHash)`, i.e. Attestation(sessionId,
   * grantHash(grant), minutes, policyHash); sorted here unless `presorted`.
   */
  attestations: readonly CheckerSignature[];
  checkerSet: CheckerSet;
  /** Pass signatures in the given order (tests of the contract's ordering rule). Default false. */
  presorted?: boolean;
}

/** Settles one session: pays the attested minutes not yet paid. */
export function settle(clients: ChainClients, escrow: EscrowRef, p: SettleParameters) {
  const sigs = p.presorted === true ? p.attestations : sortSignatures(p.attestations);
  return sendTx(clients, {
    address: escrow.address,
    abi: sessionEscrowAbi,
    functionName: 'settle',
    args: [encodeSettlement(p.checkerSet, sigs, [p])],
  });
}

export interface BatchSettleParameters {
  sessions: readonly SessionSettlement[];
  /** Checker signatures over AttestationBatch(sessions in this order, set.policyHash). */
  attestations: readonly CheckerSignature[];
  checkerSet: CheckerSet;
}

/** The AttestationBatch checkers must sign for `sessions` (same order; each item binds its grant's hash). */
export function batchOf(sessions: BatchSettleParameters['sessions'], policyHash: Hex): AttestationBatch {
  return {
    sessions: sessions.map((s) => ({
      sessionId: s.grant.sessionId,
      grantHash: grantHash(s.grant),
      minutes: s.minutes,
    })),
    policyHash,
  };
}

/** Why `batchSettle` skipped a record (the contract's SKIP_* codes in `SettlementSkipped.reason`). */
export const SettlementSkipReason = {
  grantExpired: 1,
  beyondGrant: 2,
  badGrantSignature: 3,
  nothingToSettle: 4,
  amountTooLarge: 5,
  insufficientBalance: 6,
} as const;
export type SettlementSkipReason = (typeof SettlementSkipReason)[keyof typeof SettlementSkipReason];

/** The catalogue code `settle` would have failed with, per skip reason. */
export const SKIP_REASON_CODES: Readonly<Record<SettlementSkipReason, ErrorCode>> = {
  1: 'CHAIN_GRANT_EXPIRED',
  2: 'CHAIN_BEYOND_GRANT',
  3: 'CHAIN_BAD_SIGNATURE',
  4: 'CHAIN_NOTHING_TO_SETTLE',
  5: 'CHAIN_REVERTED',
  6: 'CHAIN_INSUFFICIENT_BALANCE',
};

/** One record a batch left unsettled: its position in the batch, session, edge and why. */
export interface SkippedRecord {
  index: number;
  sessionId: Hex;
  edge: Address;
  reason: SettlementSkipReason;
  code: ErrorCode;
}

/** What a batch settlement did: the receipt and the records it skipped (every other record was paid). */
export interface BatchSettleResult {
  receipt: TransactionReceipt;
  skipped: SkippedRecord[];
}

/**
 * Settles many sessions in one transaction with one checker quorum over the whole batch. Records that cannot be
 * settled (expired grant, drained player, already paid, ...) are skipped and listed in `skipped`; only a batch
 * where nothing settles (or whose quorum fails) throws.
 */
export async function batchSettle(
  clients: ChainClients,
  escrow: EscrowRef,
  p: BatchSettleParameters,
): Promise<BatchSettleResult> {
  const receipt = await sendTx(clients, {
    address: escrow.address,
    abi: sessionEscrowAbi,
    functionName: 'batchSettle',
    args: [encodeSettlement(p.checkerSet, sortSignatures(p.attestations), p.sessions)],
  });
  const skipped = parseEventLogs({
    abi: sessionEscrowAbi,
    eventName: 'SettlementSkipped',
    logs: receipt.logs.filter((l) => l.address.toLowerCase() === escrow.address.toLowerCase()),
  }).map((l) => {
    const reason = l.args.reason as SettlementSkipReason;
    return {
      index: Number(l.args.index),
      sessionId: l.args.sessionId,
      edge: l.args.edge,
      reason,
      code: SKIP_REASON_CODES[reason] ?? 'CHAIN_REVERTED',
    };
  });
  return { receipt, skipped };
}

/**
 * Starts the unlock delay for withdrawing `amount` (replacing any earlier request); claim it with `withdraw` after
 * the escrow's `withdrawDelay`, within its `withdrawClaimWindow`. Until it expires it counts as spent in
 * `getPlayerBalance`.
 */
export function requestWithdraw(clients: ChainClients, escrow: EscrowRef, amount: bigint) {
  return sendTx(clients, {
    address: escrow.address,
    abi: sessionEscrowAbi,
    functionName: 'requestWithdraw',
    args: [amount],
  });
}

/** Withdraws the requested amount after the delay, within the claim window (later: CHAIN_WITHDRAWAL_EXPIRED). */
export function withdraw(clients: ChainClients, escrow: EscrowRef) {
  return sendTx(clients, {
    address: escrow.address,
    abi: sessionEscrowAbi,
    functionName: 'withdraw',
    args: [],
  });
}

/**
 * The edge key withdraws its gross earnings on `sessionIds` (one id per 8-session word is enough; the edge knows
 * which sessions it settled) to `to`; the protocol fee at the current rate goes to the treasury.
 */
export function withdrawEarnings(
  clients: ChainClients,
  escrow: EscrowRef,
  to: Address,
  sessionIds: readonly Hex[],
) {
  return sendTx(clients, {
    address: escrow.address,
    abi: sessionEscrowAbi,
    functionName: 'withdrawEarnings',
    args: [to, [...sessionIds]],
  });
}

/** A player's escrow account. */
export async function readAccount(publicClient: PublicClient, escrow: EscrowRef, player: Address) {
  const [balance, withdrawAmount, unlockAt] = await publicClient.readContract({
    address: escrow.address,
    abi: sessionEscrowAbi,
    functionName: 'accounts',
    args: [player],
  });
  return { balance, withdrawAmount, unlockAt };
}

/** An edge's gross unwithdrawn earnings on the words of `sessionIds` (the fee is taken at withdrawal). */
export function readEdgeEarnings(
  publicClient: PublicClient,
  escrow: EscrowRef,
  edge: Address,
  sessionIds: readonly Hex[],
): Promise<bigint> {
  return publicClient.readContract({
    address: escrow.address,
    abi: sessionEscrowAbi,
    functionName: 'earnings',
    args: [edge, [...sessionIds]],
  });
}

/** Minutes already paid for a session. */
export function paidMinutes(publicClient: PublicClient, escrow: EscrowRef, edge: Address, sessionId: Hex) {
  return publicClient.readContract({
    address: escrow.address,
    abi: sessionEscrowAbi,
    functionName: 'paidMinutes',
    args: [edge, sessionId],
  });
}
