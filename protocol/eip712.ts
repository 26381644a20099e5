import { type Address, type Hex, hashStruct, hashTypedData, type TypedDataDomain } from 'viem';

/**
 * EIP-712 typed data for Farplay's money: the player's grant, checker attestations (single and batch),
 * the edge's and player's per-minute QoS reports, slash orders and edge bonds. These are the exact types
 * the contracts in contracts-client/contracts verify; edge, checkers and player sign with them.
 *
 * Domains bind every signature to one chain id and one contract: grants and attestations to the
 * SessionEscrow on the payments chain, QoS reports, slash orders and edge bonds to the StakingRegistry
 * on the staking chain.
 */
/** EIP-712 domain version and names of the two contracts (must match the Solidity constructors). */
export const EIP712_VERSION = '1';
export const ESCROW_DOMAIN_NAME = 'Farplay SessionEscrow';
export const STAKING_DOMAIN_NAME = 'Farplay StakingRegistry';

/** Domain of the SessionEscrow at `verifyingContract` on `chainId` (grants, attestations). */
export function escrowDomain(chainId: number, verifyingContract: Address): TypedDataDomain {
  return { name: ESCROW_DOMAIN_NAME, version: EIP712_VERSION, chainId, verifyingContract };
}

/** Domain of the StakingRegistry at `verifyingContract` on `chainId` (QoS reports, slash orders, bonds). */
export function stakingDomain(chainId: number, verifyingContract: Address): TypedDataDomain {
  return { name: STAKING_DOMAIN_NAME, version: EIP712_VERSION, chainId, verifyingContract };
}

/** EIP-712 types of a Grant (the player's per-session spending approval). */
export const grantTypes = {
  Grant: [
    { name: 'sessionId', type: 'bytes32' },
    { name: 'player', type: 'address' },
    { name: 'edge', type: 'address' },
    { name: 'pricePerMinute', type: 'uint96' },
    { name: 'maxMinutes', type: 'uint32' },
    { name: 'expiry', type: 'uint64' },
    { name: 'sessionKey', type: 'address' },
  ],
} as const;

/** The player's grant, signed once at session start by the player's wallet. */
export interface Grant {
  /** Session id; ids differing only in the low 3 bits share a storage word on chain (cheaper settlement). */
  sessionId: Hex;
  player: Address;
  edge: Address;
  /** ATH wei per billable minute. */
  pricePerMinute: bigint;
  /** The escrow settles at most min(maxMinutes, 65 535) minutes of one session (16-bit paid-minutes lanes). */
  maxMinutes: number;
  /** Unix seconds; the grant cannot be settled after it. */
  expiry: bigint;
  /** Throwaway key in the page that signs the player's QoS reports. */
  sessionKey: Address;
}

/** EIP-712 types of an Attestation (a checker's cumulative billable minutes of one session). */
export const attestationTypes = {
  Attestation: [
    { name: 'sessionId', type: 'bytes32' },
    { name: 'grantHash', type: 'bytes32' },
    { name: 'minutes', type: 'uint32' },
    { name: 'policyHash', type: 'bytes32' },
  ],
} as const;

/**
 * A checker's cumulative attestation: `minutes` billable so far, under the QoS policy `policyHash`, of the session
 * played under the grant whose struct hash is `grantHash` (`grantHash(grant)`). Binding the grant means the
 * attestation pays only under that grant: another grant the player signs for the same session id (say at 1 wei a
 * minute) does not verify with it. A checker attests one grant per (edge, sessionId): the one the session runs
 * under (whose `sessionKey` signs the player's QoS reports).
 */
export interface Attestation {
  sessionId: Hex;
  grantHash: Hex;
  minutes: number;
  policyHash: Hex;
}

/** EIP-712 types of an AttestationBatch (several sessions' minutes under one quorum signature). */
export const attestationBatchTypes = {
  AttestationBatch: [
    { name: 'sessions', type: 'SessionMinutes[]' },
    { name: 'policyHash', type: 'bytes32' },
  ],
  SessionMinutes: [
    { name: 'sessionId', type: 'bytes32' },
    { name: 'grantHash', type: 'bytes32' },
    { name: 'minutes', type: 'uint32' },
  ],
} as const;

/** One session of a batch attestation: cumulative minutes under the grant with struct hash `grantHash`. */
export interface SessionMinutes {
  sessionId: Hex;
  grantHash: Hex;
  minutes: number;
}

/** One checker signature over many sessions' cumulative minutes, for batch settlement (order matters). */
export interface AttestationBatch {
  sessions: readonly SessionMinutes[];
  policyHash: Hex;
}

/** EIP-712 types of one minute's QoS metrics (nested in a QosReport). */
export const qosMetricsTypes = {
  QosMetrics: [
    { name: 'frames', type: 'uint32' },
    { name: 'bitrateKbps', type: 'uint32' },
    { name: 'encodeTimeUs', type: 'uint32' },
    { name: 'rttMs', type: 'uint32' },
    { name: 'jitterMs', type: 'uint32' },
    { name: 'lossPpm', type: 'uint32' },
    { name: 'freezeMs', type: 'uint32' },
  ],
} as const;

/** EIP-712 types of a QosReport (one side's view of one minute). */
export const qosReportTypes = {
  QosReport: [
    { name: 'sessionId', type: 'bytes32' },
    { name: 'minute', type: 'uint32' },
    { name: 'role', type: 'uint8' },
    { name: 'metrics', type: 'QosMetrics' },
  ],
  ...qosMetricsTypes,
} as const;

/** Who signed a QoS report: the edge (node key, send side) or the player (session key, receive side). */
export const QosRole = { edge: 0, player: 1 } as const;
export type QosRole = (typeof QosRole)[keyof typeof QosRole];

/**
 * One minute of QoS as one side saw it. Edge: frames encoded, encode time; player: frames decoded,
 * freezes, jitter. Fields a side does not measure are 0.
 */
export interface QosMetrics {
  frames: number;
  bitrateKbps: number;
  encodeTimeUs: number;
  rttMs: number;
  jitterMs: number;
  lossPpm: number;
  freezeMs: number;
}

/** A per-minute QoS report; two different edge reports for the same session+minute are slashing evidence. */
export interface QosReport {
  sessionId: Hex;
  /** Minute index within the session, from 0. */
  minute: number;
  role: QosRole;
  metrics: QosMetrics;
}

/** EIP-712 types of the details of one minute's QoS beyond QosMetrics (nested in a QosLink). */
export const qosDetailTypes = {
  QosDetail: [
    { name: 'targetFps', type: 'uint32' },
    { name: 'framesEncoded', type: 'uint32' },
    { name: 'framesDropped', type: 'uint32' },
    { name: 'encodeP99Us', type: 'uint32' },
    { name: 'nackCount', type: 'uint32' },
    { name: 'pliCount', type: 'uint32' },
    { name: 'keyframes', type: 'uint32' },
    { name: 'freezeCount', type: 'uint32' },
    { name: 'jitterBufferMs', type: 'uint32' },
    { name: 'glassP50Ms', type: 'uint32' },
    { name: 'glassP99Ms', type: 'uint32' },
    { name: 'glassSamples', type: 'uint32' },
  ],
} as const;

/**
 * Details of one minute's QoS that the slashing format (QosMetrics) does not carry; fields a side does not measure
 * are 0. Edge: target fps, frames encoded, encode time p99, NACK/PLI/keyframe counts. Player: frames dropped,
 * freezes, jitter-buffer delay, glass-to-glass p50/p99 and sample count.
 */
export interface QosDetail {
  targetFps: number;
  framesEncoded: number;
  framesDropped: number;
  encodeP99Us: number;
  nackCount: number;
  pliCount: number;
  keyframes: number;
  freezeCount: number;
  jitterBufferMs: number;
  glassP50Ms: number;
  glassP99Ms: number;
  glassSamples: number;
}

/**
 * EIP-712 types of a QosLink: one side's report of one minute chained to its previous one. It wraps the
 * QosReport (unchanged, so the edge's separately signed QosReport stays the StakingRegistry's slashing evidence).
 */
export const qosLinkTypes = {
  QosLink: [
    { name: 'report', type: 'QosReport' },
    { name: 'prev', type: 'bytes32' },
    { name: 'closedAt', type: 'uint64' },
    { name: 'detail', type: 'QosDetail' },
  ],
  ...qosReportTypes,
  ...qosDetailTypes,
} as const;

/**
 * One side's signed report of one minute in its chain: `prev` is the struct hash (`qosLinkHash`) of the same
 * signer's previous link in this session (zero for its first), so a minute cannot be dropped or reordered unseen;
 * `closedAt` is when the signer closed the minute (unix ms). Signed in the staking domain by the edge's node key
 * (which also signs the bare `report`) or by the player's session key.
 */
export interface QosLink {
  report: QosReport;
  prev: Hex;
  closedAt: number;
  detail: QosDetail;
}

/** EIP-712 types of a Slash order. */
export const slashTypes = {
  Slash: [
    { name: 'edge', type: 'address' },
    { name: 'sessionId', type: 'bytes32' },
    { name: 'minute', type: 'uint32' },
    { name: 'bps', type: 'uint16' },
    { name: 'player', type: 'address' },
    { name: 'finder', type: 'address' },
    { name: 'deadline', type: 'uint64' },
  ],
} as const;

/**
 * What a checker quorum signs to slash `edge` for the evidence at session+minute: `bps` (1..10 000) of the
 * pool's stake when the slash lands, so withdrawals before it cannot make it fail; executable until `deadline`
 * (unix seconds).
 */
export interface SlashOrder {
  edge: Address;
  sessionId: Hex;
  minute: number;
  bps: number;
  player: Address;
  finder: Address;
  deadline: bigint;
}

/** EIP-712 types of a RefutedSlash order (the kind is the type name). */
export const refutedSlashTypes = {
  RefutedSlash: [
    { name: 'edge', type: 'address' },
    { name: 'sessionId', type: 'bytes32' },
    { name: 'minute', type: 'uint32' },
    { name: 'bps', type: 'uint16' },
    { name: 'player', type: 'address' },
    { name: 'sessionKey', type: 'address' },
    { name: 'finder', type: 'address' },
    { name: 'deadline', type: 'uint64' },
    { name: 'edgeReport', type: 'bytes32' },
    { name: 'playerReport', type: 'bytes32' },
  ],
} as const;

/**
 * What a checker quorum signs to slash `edge` for a claim the player's side refutes (`StakingRegistry.slashRefuted`):
 * the fields of a SlashOrder, the grant's `sessionKey` (which signed the player's report) and the struct hashes of
 * the two reports — the edge's bare `QosReport` (`edgeReport`) and the player's `QosLink` (`playerReport`) of
 * session+minute.
 */
export interface RefutedSlashOrder {
  edge: Address;
  sessionId: Hex;
  minute: number;
  bps: number;
  player: Address;
  sessionKey: Address;
  finder: Address;
  deadline: bigint;
  edgeReport: Hex;
  playerReport: Hex;
}

/** EIP-712 types of an EdgeBond (the edge key agreeing to be staked by its operator). */
export const edgeBondTypes = {
  EdgeBond: [
    { name: 'edge', type: 'address' },
    { name: 'operator', type: 'address' },
    { name: 'cutBps', type: 'uint16' },
  ],
} as const;

/** Signed by the edge's node key: it agrees to be staked for by `operator` with reward cut `cutBps`. */
export interface EdgeBond {
  edge: Address;
  operator: Address;
  cutBps: number;
}

/** EIP-712 struct hash of a grant (no domain): what attestations carry as `grantHash`. */
export function grantHash(grant: Grant): Hex {
  return hashStruct({ types: grantTypes, primaryType: 'Grant', data: grant });
}

/** Digest the SessionEscrow computes for a single attestation. */
export function attestationDigest(domain: TypedDataDomain, attestation: Attestation): Hex {
  return hashTypedData({ domain, types: attestationTypes, primaryType: 'Attestation', message: attestation });
}

/** Digest the SessionEscrow computes for a batch attestation. */
export function attestationBatchDigest(domain: TypedDataDomain, batch: AttestationBatch): Hex {
  return hashTypedData({
    domain,
    types: attestationBatchTypes,
    primaryType: 'AttestationBatch',
    message: { sessions: [...batch.sessions], policyHash: batch.policyHash },
  });
}

/** EIP-712 struct hash of the metrics: what a slash transaction carries instead of the full metrics. */
export function qosMetricsHash(metrics: QosMetrics): Hex {
  return hashStruct({ types: qosMetricsTypes, primaryType: 'QosMetrics', data: metrics });
}

/** EIP-712 struct hash of a link's details: what `slashRefuted` carries instead of the full QosDetail. */
export function qosDetailHash(detail: QosDetail): Hex {
  return hashStruct({ types: qosDetailTypes, primaryType: 'QosDetail', data: detail });
}

/** EIP-712 struct hash of a bare QoS report (what the edge's `reportSignature` signs). */
export function qosReportHash(report: QosReport): Hex {
  return hashStruct({ types: qosReportTypes, primaryType: 'QosReport', data: report });
}

/** Digest the StakingRegistry computes for a QoS report. */
export function qosReportDigest(domain: TypedDataDomain, report: QosReport): Hex {
  return hashTypedData({ domain, types: qosReportTypes, primaryType: 'QosReport', message: report });
}

/** EIP-712 struct hash of a QoS link: what the signer's next link carries as `prev`. */
export function qosLinkHash(link: QosLink): Hex {
  return hashStruct({
    types: qosLinkTypes,
    primaryType: 'QosLink',
    data: { ...link, closedAt: BigInt(link.closedAt) },
  });
}

/** Digest a checker verifies for a QoS link (staking domain). */
export function qosLinkDigest(domain: TypedDataDomain, link: QosLink): Hex {
  return hashTypedData({
    domain,
    types: qosLinkTypes,
    primaryType: 'QosLink',
    message: { ...link, closedAt: BigInt(link.closedAt) },
  });
}
