import {
  type Address,
  encodeAbiParameters,
  type Hex,
  keccak256,
  type LocalAccount,
  type PublicClient,
  type TypedDataDomain,
} from 'viem';
import {
  edgeBondTypes,
  type QosLink,
  type QosReport,
  qosDetailHash,
  qosMetricsHash,
  qosReportTypes,
  type RefutedSlashOrder,
  refutedSlashTypes,
  type SlashOrder,
  slashTypes,
  stakingDomain,
} from '../../protocol/eip712.js';
import { stakingRegistryAbi } from './abis/StakingRegistry.js';
import type { CheckerSet } from './checkers.js';
import { type CheckerSignature, sortBySigner } from './escrow.js';
import { approveToken, type ChainClients, sendTx, toSig } from './tx.js';

/** Where a StakingRegistry lives. */
export interface StakingRef {
  address: Address;
  chainId: number;
  /** The ATH token it stakes. */
  token: Address;
}

/** The EIP-712 domain of a staking registry (QoS reports, slash orders, edge bonds). */
export function stakingDomainOf(staking: StakingRef): TypedDataDomain {
  return stakingDomain(staking.chainId, staking.address);
}

/** The edge signs a per-minute QoS report with its node key (the player with its session key). */
export function signQosReport(signer: LocalAccount, staking: StakingRef, report: QosReport): Promise<Hex> {
  return signer.signTypedData({
    domain: stakingDomainOf(staking),
    types: qosReportTypes,
    primaryType: 'QosReport',
    message: report,
  });
}

/** A checker signs a slash order. */
export function signSlashOrder(checker: LocalAccount, staking: StakingRef, order: SlashOrder): Promise<Hex> {
  return checker.signTypedData({
    domain: stakingDomainOf(staking),
    types: slashTypes,
    primaryType: 'Slash',
    message: order,
  });
}

/** The operator (wallet of `clients`) registers `edge` and stakes `amount`; the edge key signs the bond. */
export async function registerEdge(
  clients: ChainClients,
  staking: StakingRef,
  p: { edge: LocalAccount; cutBps: number; amount: bigint },
) {
  const signature = await p.edge.signTypedData({
    domain: stakingDomainOf(staking),
    types: edgeBondTypes,
    primaryType: 'EdgeBond',
    message: { edge: p.edge.address, operator: clients.walletClient.account.address, cutBps: p.cutBps },
  });
  await approveToken(clients, staking.token, staking.address, p.amount);
  return sendTx(clients, {
    address: staking.address,
    abi: stakingRegistryAbi,
    functionName: 'registerEdge',
    args: [p.edge.address, p.cutBps, p.amount, toSig(signature)],
  });
}

/** Delegates `amount` to `edge` (or adds to the operator's own stake). */
export async function delegate(clients: ChainClients, staking: StakingRef, edge: Address, amount: bigint) {
  await approveToken(clients, staking.token, staking.address, amount);
  return sendTx(clients, {
    address: staking.address,
    abi: stakingRegistryAbi,
    functionName: 'delegate',
    args: [edge, amount],
  });
}

/** Starts unbonding `shares`; withdraw after the unbonding delay. */
export function unbond(clients: ChainClients, staking: StakingRef, edge: Address, shares: bigint) {
  return sendTx(clients, {
    address: staking.address,
    abi: stakingRegistryAbi,
    functionName: 'unbond',
    args: [edge, shares],
  });
}

/** Withdraws unbonded tokens after the delay. */
export function withdrawUnbonded(clients: ChainClients, staking: StakingRef, edge: Address) {
  return sendTx(clients, {
    address: staking.address,
    abi: stakingRegistryAbi,
    functionName: 'withdrawUnbonded',
    args: [edge],
  });
}

/** Pays `amount` ATH as rewards to `edge`'s pool (operator cut first, the rest per active share). */
export async function distributeRewards(
  clients: ChainClients,
  staking: StakingRef,
  edge: Address,
  amount: bigint,
) {
  await approveToken(clients, staking.token, staking.address, amount);
  return sendTx(clients, {
    address: staking.address,
    abi: stakingRegistryAbi,
    functionName: 'distributeRewards',
    args: [edge, amount],
  });
}

/** Claims the caller's rewards from `edge`'s pool. */
export function claimRewards(clients: ChainClients, staking: StakingRef, edge: Address) {
  return sendTx(clients, {
    address: staking.address,
    abi: stakingRegistryAbi,
    functionName: 'claimRewards',
    args: [edge],
  });
}

/** One signed edge QoS report used as evidence. */
export interface Evidence {
  report: QosReport;
  signature: Hex;
}

/** Slashes with two conflicting edge reports and a checker quorum over the order. */
export function slash(
  clients: ChainClients,
  staking: StakingRef,
  p: {
    order: SlashOrder;
    evidence: readonly [Evidence, Evidence];
    signatures: readonly CheckerSignature[];
    checkerSet: CheckerSet;
  },
) {
  const [a, b] = p.evidence;
  return sendTx(clients, {
    address: staking.address,
    abi: stakingRegistryAbi,
    functionName: 'slash',
    args: [
      p.order,
      { metricsHash: qosMetricsHash(a.report.metrics), sig: toSig(a.signature) },
      { metricsHash: qosMetricsHash(b.report.metrics), sig: toSig(b.signature) },
      sortBySigner(p.signatures),
      {
        checkers: [...p.checkerSet.checkers],
        quorum: BigInt(p.checkerSet.quorum),
        policyHash: p.checkerSet.policyHash,
      },
    ],
  });
}

/** A checker signs a refuted-claim slash order. */
export function signRefutedSlashOrder(
  checker: LocalAccount,
  staking: StakingRef,
  order: RefutedSlashOrder,
): Promise<Hex> {
  return checker.signTypedData({
    domain: stakingDomainOf(staking),
    types: refutedSlashTypes,
    primaryType: 'RefutedSlash',
    message: order,
  });
}

/** The evidence of a refuted claim: the edge's signed bare report and the player's signed link of the same minute. */
export interface RefutedEvidence {
  edge: { report: QosReport; signature: Hex };
  player: { link: QosLink; signature: Hex };
}

/**
 * Slashes an edge whose claim the player's signed report refutes (`StakingRegistry.slashRefuted`): the edge's
 * report, the player's link (signed by the order's session key) and a checker quorum over the RefutedSlash order.
 */
export function slashRefuted(
  clients: ChainClients,
  staking: StakingRef,
  p: {
    order: RefutedSlashOrder;
    evidence: RefutedEvidence;
    signatures: readonly CheckerSignature[];
    checkerSet: CheckerSet;
  },
) {
  const { edge, player } = p.evidence;
  return sendTx(clients, {
    address: staking.address,
    abi: stakingRegistryAbi,
    functionName: 'slashRefuted',
    args: [
      p.order,
      { metrics: edge.report.metrics, sig: toSig(edge.signature) },
      {
        metrics: player.link.report.metrics,
        prev: player.link.prev,
        closedAt: BigInt(player.link.closedAt),
        detailHash: qosDetailHash(player.link.detail),
        sig: toSig(player.signature),
      },
      sortBySigner(p.signatures),
      {
        checkers: [...p.checkerSet.checkers],
        quorum: BigInt(p.checkerSet.quorum),
        policyHash: p.checkerSet.policyHash,
      },
    ],
  });
}

/** The key under which `slashRefuted` marks its evidence used: one refuted slash per (edge, session). */
export function refutedEvidenceKey(edge: Address, sessionId: Hex): Hex {
  const typehash = keccak256(
    new TextEncoder().encode(
      `RefutedSlash(${refutedSlashTypes.RefutedSlash.map((f) => `${f.type} ${f.name}`).join(',')})`,
    ),
  );
  return keccak256(
    encodeAbiParameters(
      [{ type: 'bytes32' }, { type: 'address' }, { type: 'bytes32' }],
      [typehash, edge, sessionId],
    ),
  );
}

/** True once the evidence under `key` has slashed (`refutedEvidenceKey`, or the equivocation key). */
export function isEvidenceUsed(publicClient: PublicClient, staking: StakingRef, key: Hex): Promise<boolean> {
  return publicClient.readContract({
    address: staking.address,
    abi: stakingRegistryAbi,
    functionName: 'evidenceUsed',
    args: [key],
  });
}

/** Tokens behind `account`'s active and unbonding shares in `edge`'s pool. */
export async function stakeOf(
  publicClient: PublicClient,
  staking: StakingRef,
  edge: Address,
  account: Address,
) {
  const [active, unbonding] = await publicClient.readContract({
    address: staking.address,
    abi: stakingRegistryAbi,
    functionName: 'stakeOf',
    args: [edge, account],
  });
  return { active, unbonding };
}

/** `account`'s shares in `edge`'s pool. */
export async function delegationOf(
  publicClient: PublicClient,
  staking: StakingRef,
  edge: Address,
  account: Address,
) {
  const [shares, unbondingShares, readyAt, , rewards] = await publicClient.readContract({
    address: staking.address,
    abi: stakingRegistryAbi,
    functionName: 'delegations',
    args: [edge, account],
  });
  return { shares, unbondingShares, readyAt, rewards };
}

/** Rewards `account` could claim now. */
export function pendingRewards(
  publicClient: PublicClient,
  staking: StakingRef,
  edge: Address,
  account: Address,
) {
  return publicClient.readContract({
    address: staking.address,
    abi: stakingRegistryAbi,
    functionName: 'pendingRewards',
    args: [edge, account],
  });
}

/** True when the edge's operator stake meets the minimum. */
export function isEdgeActive(publicClient: PublicClient, staking: StakingRef, edge: Address) {
  return publicClient.readContract({
    address: staking.address,
    abi: stakingRegistryAbi,
    functionName: 'isActive',
    args: [edge],
  });
}
