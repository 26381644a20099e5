import {
  type Address,
  type Hex,
  type LocalAccount,
  type PublicClient,
  recoverTypedDataAddress,
  type TypedDataDomain,
} from 'viem';
import {
  type Attestation,
  type AttestationBatch,
  attestationBatchTypes,
  attestationTypes,
  escrowDomain,
  type Grant,
  grantTypes,
} from '../../protocol/eip712.js';
import { sessionEscrowAbi } from './abis/SessionEscrow.js';
import { testATHAbi } from './abis/TestATH.js';
import type { CheckerSet } from './checkers.js';
import { type ChainClients, type Sig, sendTx, toSig } from './tx.js';

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

/** True when `signature` is the grant's player's signature for this escrow (same digest as the contract). */
export async function verifyGrant(escrow: EscrowRef, grant: Grant, signature: Hex): Promise<boolean> {
  const signer = await recoverTypedDataAddress({
    domain: domainOf(escrow),
    types: grantTypes,
    primaryType: 'Grant',
    message: grant,
    signature,
  }).catch(() => undefined);
  return signer !== undefined && signer.toLowerCase() === grant.player.toLowerCase();
}

/** A checker signs its cumulative attestation for one session. */
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

/** The address that signed `attestation`, or undefined for a malformed signature. */
export function recoverAttestationSigner(
  escrow: EscrowRef,
  attestation: Attestation,
  signature: Hex,
): Promise<Address | undefined> {
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

/** Sorts signatures strictly ascending by signer, as the contract requires. */
export function sortBySigner(signatures: readonly CheckerSignature[]): Sig[] {
  return [...signatures]
    .sort((a, b) => {
      const x = BigInt(a.signer);
      const y = BigInt(b.signer);
      return x < y ? -1 : x > y ? 1 : 0;
    })
    .map((s) => toSig(s.signature));
}

function onChainSet(set: CheckerSet) {
  return { checkers: [...set.checkers], quorum: BigInt(set.quorum), policyHash: set.policyHash };
}

/** Approves and deposits `amount` ATH wei into the caller's escrow balance. */
export async function deposit(clients: ChainClients, escrow: EscrowRef, token: Address, amount: bigint) {
  await sendTx(clients, {
    address: token,
    abi: testATHAbi,
    functionName: 'approve',
    args: [escrow.address, amount],
  });
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
  await sendTx(clients, {
    address: token,
    abi: testATHAbi,
    functionName: 'approve',
    args: [escrow.address, amount],
  });
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
  /** Checker signatures over Attestation(sessionId, minutes, set.policyHash); sorted here unless `presorted`. */
  attestations: readonly CheckerSignature[];
  checkerSet: CheckerSet;
  /** Pass signatures in the given order (tests of the contract's ordering rule). Default false. */
  presorted?: boolean;
}

/** Settles one session: pays the attested minutes not yet paid. */
export function settle(clients: ChainClients, escrow: EscrowRef, p: SettleParameters) {
  return sendTx(clients, {
    address: escrow.address,
    abi: sessionEscrowAbi,
    functionName: 'settle',
    args: [
      p.grant,
      toSig(p.grantSignature),
      p.minutes,
      p.presorted === true ? p.attestations.map((a) => toSig(a.signature)) : sortBySigner(p.attestations),
      onChainSet(p.checkerSet),
    ],
  });
}

export interface BatchSettleParameters {
  sessions: readonly { grant: Grant; grantSignature: Hex; minutes: number }[];
  /** Checker signatures over AttestationBatch(sessions in this order, set.policyHash). */
  attestations: readonly CheckerSignature[];
  checkerSet: CheckerSet;
}

/** The AttestationBatch checkers must sign for `sessions` (same order). */
export function batchOf(sessions: BatchSettleParameters['sessions'], policyHash: Hex): AttestationBatch {
  return {
    sessions: sessions.map((s) => ({ sessionId: s.grant.sessionId, minutes: s.minutes })),
    policyHash,
  };
}

/** Settles many sessions in one transaction with one checker quorum over the whole batch. */
export function batchSettle(clients: ChainClients, escrow: EscrowRef, p: BatchSettleParameters) {
  return sendTx(clients, {
    address: escrow.address,
    abi: sessionEscrowAbi,
    functionName: 'batchSettle',
    args: [
      p.sessions.map((s) => ({ grant: s.grant, grantSig: toSig(s.grantSignature), minutes_: s.minutes })),
      sortBySigner(p.attestations),
      onChainSet(p.checkerSet),
    ],
  });
}

/** Starts the unlock delay for withdrawing `amount`. */
export function requestWithdraw(clients: ChainClients, escrow: EscrowRef, amount: bigint) {
  return sendTx(clients, {
    address: escrow.address,
    abi: sessionEscrowAbi,
    functionName: 'requestWithdraw',
    args: [amount],
  });
}

/** Withdraws the requested amount after the delay. */
export function withdraw(clients: ChainClients, escrow: EscrowRef) {
  return sendTx(clients, {
    address: escrow.address,
    abi: sessionEscrowAbi,
    functionName: 'withdraw',
    args: [],
  });
}

/** The edge key withdraws its earnings to `to` (the fee on them goes to the treasury). */
export function withdrawEarnings(clients: ChainClients, escrow: EscrowRef, to: Address) {
  return sendTx(clients, {
    address: escrow.address,
    abi: sessionEscrowAbi,
    functionName: 'withdrawEarnings',
    args: [to],
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

/** An edge's unpaid earnings and the fee owed on them. */
export async function readEdgeAccount(publicClient: PublicClient, escrow: EscrowRef, edge: Address) {
  const [earned, fees] = await publicClient.readContract({
    address: escrow.address,
    abi: sessionEscrowAbi,
    functionName: 'edgeAccounts',
    args: [edge],
  });
  return { earned, fees };
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
