import { QOS_POLICY, type QosPolicy } from '../../protocol/qosPolicy.js';
import type { EdgeStats } from '../Edge.js';

/** What `farplay-edge status` says about the sessions a running edge serves now. */
export interface LiveSessionsSummary {
  /** Sessions open now, and how many are streaming. */
  live: number;
  streaming: number;
  /** Sessions ended since the edge started. */
  ended: number;
  /** Minutes of video sent by the open sessions (frames sent ÷ their fps). */
  minutesPlayed: number;
  /** One sentence per QoS figure the edge can see failing the published policy, naming the metric. */
  failing: string[];
}

/**
 * Sums a running edge's `/v1/stats` for the operator and checks the edge's own side of the QoS policy: a session
 * that sends fewer than `minTargetFpsRatio` of its target frames (frames dropped because the encoder or sender was
 * busy or late) fails the minute whatever the player sees.
 */
export function describeLiveSessions(stats: EdgeStats, policy: QosPolicy = QOS_POLICY): LiveSessionsSummary {
  const open = stats.sessions.filter((session) => session.state !== 'closed');
  const failing: string[] = [];
  let minutesPlayed = 0;
  for (const session of open) {
    if (session.fps > 0) minutesPlayed += session.framesSent / session.fps / 60;
    const dropped = session.framesDroppedBusy + session.framesDroppedLate;
    const due = session.framesSent + dropped;
    if (session.state !== 'streaming' || due < session.fps * 5) continue;
    const ratio = session.framesSent / due;
    if (ratio < policy.minTargetFpsRatio) {
      failing.push(
        `session ${session.sessionId.slice(0, 12)}… sends ${Math.round(ratio * 100)} % of its ${session.fps} fps (metric: frames sent vs target, policy minTargetFpsRatio ${policy.minTargetFpsRatio * 100} %): the encoder is overloaded — lower capacity to what \`farplay-edge bench\` measured`,
      );
    }
  }
  return {
    live: open.length,
    streaming: open.filter((session) => session.state === 'streaming').length,
    ended: Object.values(stats.endedByCode).reduce((sum, count) => sum + count, 0),
    minutesPlayed,
    failing,
  };
}
