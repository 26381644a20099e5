import { type Hex, keccak256, stringToHex } from 'viem';

/**
 * The published QoS policy checkers apply before attesting a minute as billable (`protocol/evaluateMinute.ts` is
 * its one evaluator). Its hash is what the CheckerRegistry / SessionEscrow store and every attestation carries, so
 * a policy change — including the period length — is visible on chain. "Minute" means one period of `periodMs`.
 */
export interface QosPolicy {
  readonly version: number;
  /** Length of one billed period ("minute"), ms. Default 60 000; tests use shorter ones (another policy hash). */
  readonly periodMs: number;
  /** The player must have decoded at least this share of the frames the edge says it sent. */
  readonly minDeliveredFrameRatio: number;
  /** ... and at least this share of the frames the session's target fps asks for in one period. */
  readonly minTargetFpsRatio: number;
  /** ... and seen at most this much freeze time per 60 s (scaled to the period). */
  readonly maxFreezeMsPerMinute: number;
  /** ... and the RTT stayed under this. */
  readonly maxRttMs: number;
  /**
   * ... and packet loss stayed at or under this (parts per million, the worse of the edge's RTCP receiver reports
   * and the player's getStats). 2 % by default: a minute at 5 % loss — what a bad Wi-Fi or a congested uplink
   * gives — is not one a player should pay for, even when retransmissions hide part of it.
   */
  readonly maxLossPpm: number;
  /** How long after a period's first report the checker waits for the other side's before deciding without it. */
  readonly reportGraceMs: number;
  /** Largest difference between a report's `closedAt` and the checker's clock on arrival. */
  readonly maxClockSkewMs: number;
  /** The two sides' RTTs may differ by this much before it is recorded as a dispute. */
  readonly rttToleranceMs: number;
  /** The two sides' loss figures may differ by this much (ppm) before it is recorded as a dispute. */
  readonly lossTolerancePpm: number;
  /** The player may count this share more frames than the edge sent (counters sampled at slightly different times). */
  readonly frameTolerance: number;
  /** Below this share of the edge's sent frames decoded by the player, the edge's claim is a recorded contradiction. */
  readonly refuteFrameRatio: number;
  /**
   * The checker's own RTT probe of the edge (checker/EdgeProber.ts) may exceed the RTT the verdict used (the worse
   * of the two ends') by this much before it is recorded as a `probe-rtt` dispute. It decides nothing: the probe
   * measures another path (checker ↔ edge, not player ↔ edge).
   */
  readonly probeRttToleranceMs: number;
}

/** The default published policy (60 s periods). */
export const QOS_POLICY: QosPolicy = Object.freeze({
  version: 4,
  periodMs: 60_000,
  minDeliveredFrameRatio: 0.9,
  minTargetFpsRatio: 0.9,
  maxFreezeMsPerMinute: 3000,
  maxRttMs: 150,
  maxLossPpm: 20_000,
  reportGraceMs: 10_000,
  maxClockSkewMs: 5_000,
  rttToleranceMs: 50,
  lossTolerancePpm: 20_000,
  frameTolerance: 0.02,
  refuteFrameRatio: 0.5,
  probeRttToleranceMs: 100,
});

/** The default policy with some fields replaced (e.g. a short `periodMs` in tests); frozen. */
export function qosPolicy(overrides: Partial<QosPolicy> = {}): QosPolicy {
  return Object.freeze({ ...QOS_POLICY, ...overrides });
}

/** keccak256 of the policy's canonical JSON (keys in QOS_POLICY's declaration order). */
export function qosPolicyHash(policy: QosPolicy = QOS_POLICY): Hex {
  const canonical: Record<string, number> = {};
  for (const key of Object.keys(QOS_POLICY) as (keyof QosPolicy)[]) canonical[key] = policy[key];
  return keccak256(stringToHex(JSON.stringify(canonical)));
}
