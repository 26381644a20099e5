import { type Hex, keccak256, stringToHex } from 'viem';

/**
 * The published QoS policy checkers apply before attesting a minute as billable. Its hash is what the
 * CheckerRegistry stores and every attestation carries, so a policy change is visible on chain.
 */
export const QOS_POLICY = {
  version: 1,
  /** A minute is billable only if the player decoded at least this share of the frames the edge encoded. */
  minDeliveredFrameRatio: 0.9,
  /** ... and the player saw at most this much freeze time in the minute. */
  maxFreezeMsPerMinute: 3000,
  /** ... and the median RTT stayed under this. */
  maxRttMs: 150,
  /** ... and packet loss stayed under this (parts per million). */
  maxLossPpm: 50_000,
} as const;

export type QosPolicy = typeof QOS_POLICY;

/** keccak256 of the policy's canonical JSON (keys in declaration order). */
export function qosPolicyHash(policy: QosPolicy = QOS_POLICY): Hex {
  return keccak256(stringToHex(JSON.stringify(policy)));
}
