import type { QosDetail, QosMetrics } from './eip712.js';
import type { QosPolicy } from './qosPolicy.js';

/**
 * The one evaluator of the published QoS policy (protocol/qosPolicy.ts): given the edge's and the player's signed
 * figures for one minute, is it billable, why not, and where did the two ends disagree. Pure and deterministic, so
 * anyone holding the evidence (`GET /v1/sessions/:id/evidence` on a checker) re-computes the same verdict.
 *
 * The rule for every figure both ends measure: the worse of the two decides. A minute is billed only when both
 * ends' signed figures say it was good; a side is always believed when it admits a worse minute. Where the two
 * differ beyond the policy's tolerance the disagreement is recorded as a dispute with both figures, and an edge
 * whose frame claim the player's count refutes by far (below `refuteFrameRatio`) is recorded as a contradiction.
 */

/** Why a minute is not billable. */
export const VerdictReason = {
  noEdgeReport: 'no-edge-report',
  noPlayerReport: 'no-player-report',
  noTargetFps: 'no-target-fps',
  framesLost: 'frames-lost',
  belowTargetFps: 'below-target-fps',
  freeze: 'freeze',
  rtt: 'rtt',
  loss: 'loss',
} as const;
export type VerdictReason = (typeof VerdictReason)[keyof typeof VerdictReason];

/** A figure on which the two ends disagree beyond the policy's tolerance. */
export const DisputeKind = {
  /** The player decoded (far) fewer frames than the edge says it sent: decided by the player's count. */
  framesRefuted: 'frames-refuted',
  /** The player counts more frames than the edge sent: decided by the edge's count. */
  framesOverSent: 'frames-over-sent',
  rtt: 'rtt',
  loss: 'loss',
  /**
   * The checker's own probe of the edge saw a longer RTT than both ends claim (beyond `probeRttToleranceMs`):
   * recorded with the three figures, decided by the ends' (the probe measures another path).
   */
  probeRtt: 'probe-rtt',
} as const;
export type DisputeKind = (typeof DisputeKind)[keyof typeof DisputeKind];

/** One disagreement: both figures and the one the verdict used. */
export interface Dispute {
  kind: DisputeKind;
  edge: number;
  player: number;
  decided: number;
  /** `probe-rtt` only: the checker's probe figure. */
  probe?: number;
}

/** One side's figures for the minute. */
export interface MinuteSide {
  metrics: QosMetrics;
  detail: QosDetail;
}

/** What the verdict used (after applying the worse-figure rule). */
export interface MinuteFigures {
  expectedFrames: number;
  deliveredFrames: number;
  freezeMs: number;
  rttMs: number;
  lossPpm: number;
  /** The checker's probe RTT of the edge in this minute (the smallest), when it probed. */
  probeRttMs?: number;
}

/** What the checker itself measured of the edge during the minute (checker/EdgeProber.ts). */
export interface MinuteProbe {
  /**
   * The smallest RTT of the checker's successful RTT probes of the edge taken in the minute
   * (`openedAt + m·period ≤ at < openedAt + (m+1)·period`).
   */
  rttMs: number;
}

/** The verdict of one minute. */
export interface MinuteVerdict {
  minute: number;
  billable: boolean;
  /** Empty when billable. */
  reasons: VerdictReason[];
  disputes: Dispute[];
  /** The edge's claim is refuted by the player's side (e.g. 60 fps claimed, 20 decoded). */
  contradiction: boolean;
  figures: MinuteFigures | null;
}

export interface EvaluateMinuteParameters {
  policy: QosPolicy;
  minute: number;
  edge?: MinuteSide | undefined;
  player?: MinuteSide | undefined;
  /** The checker's own probe of the edge in this minute, if any. */
  probe?: MinuteProbe | undefined;
}

/** Decides one minute under `policy` from the two sides' figures (either may be missing). */
export function evaluateMinute(p: EvaluateMinuteParameters): MinuteVerdict {
  const { policy, minute, edge, player, probe } = p;
  const reasons: VerdictReason[] = [];
  if (edge === undefined) reasons.push(VerdictReason.noEdgeReport);
  if (player === undefined) reasons.push(VerdictReason.noPlayerReport);
  if (edge === undefined || player === undefined) {
    return { minute, billable: false, reasons, disputes: [], contradiction: false, figures: null };
  }
  const disputes: Dispute[] = [];
  const periodS = policy.periodMs / 1000;
  const targetFps = edge.detail.targetFps;
  const expectedFrames = Math.ceil(targetFps * periodS);
  const sent = edge.metrics.frames;
  const decoded = player.metrics.frames;

  // Frames: the player's count decides what arrived, bounded by what the edge says it sent.
  let deliveredFrames = Math.min(sent, decoded);
  if (decoded > sent * (1 + policy.frameTolerance) + 1) {
    disputes.push({ kind: DisputeKind.framesOverSent, edge: sent, player: decoded, decided: sent });
    deliveredFrames = sent;
  }
  let contradiction = false;
  if (decoded < sent * policy.minDeliveredFrameRatio) {
    disputes.push({ kind: DisputeKind.framesRefuted, edge: sent, player: decoded, decided: decoded });
    reasons.push(VerdictReason.framesLost);
    contradiction = decoded < sent * policy.refuteFrameRatio;
  }
  if (targetFps === 0) reasons.push(VerdictReason.noTargetFps);
  else if (deliveredFrames < expectedFrames * policy.minTargetFpsRatio)
    reasons.push(VerdictReason.belowTargetFps);

  // Freezes are seen only by the player; an edge that reports some admits them.
  const freezeMs = Math.max(player.metrics.freezeMs, edge.metrics.freezeMs);
  if (freezeMs > (policy.maxFreezeMsPerMinute * policy.periodMs) / 60_000) reasons.push(VerdictReason.freeze);

  const rttMs = worse(
    DisputeKind.rtt,
    edge.metrics.rttMs,
    player.metrics.rttMs,
    policy.rttToleranceMs,
    disputes,
  );
  if (rttMs > policy.maxRttMs) reasons.push(VerdictReason.rtt);
  const lossPpm = worse(
    DisputeKind.loss,
    edge.metrics.lossPpm,
    player.metrics.lossPpm,
    policy.lossTolerancePpm,
    disputes,
  );
  if (lossPpm > policy.maxLossPpm) reasons.push(VerdictReason.loss);

  // The checker's probe: another path, so it decides nothing; both ends claiming far less than it is recorded.
  if (probe !== undefined && probe.rttMs > rttMs + policy.probeRttToleranceMs) {
    disputes.push({
      kind: DisputeKind.probeRtt,
      edge: edge.metrics.rttMs,
      player: player.metrics.rttMs,
      probe: probe.rttMs,
      decided: rttMs,
    });
  }

  return {
    minute,
    billable: reasons.length === 0,
    reasons,
    disputes,
    contradiction,
    figures: {
      expectedFrames,
      deliveredFrames,
      freezeMs,
      rttMs,
      lossPpm,
      ...(probe !== undefined ? { probeRttMs: probe.rttMs } : {}),
    },
  };
}

/** The larger (worse) of the two figures; a gap beyond `tolerance` is recorded. */
function worse(kind: DisputeKind, edge: number, player: number, tolerance: number, out: Dispute[]): number {
  const decided = Math.max(edge, player);
  if (Math.abs(edge - player) > tolerance) out.push({ kind, edge, player, decided });
  return decided;
}
