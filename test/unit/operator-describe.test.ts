import { describe, expect, it } from 'vitest';
import type { EdgeStats } from '../../edge/Edge.js';
import { describeDuration } from '../../edge/operator/describeDuration.js';
import { describeLiveSessions } from '../../edge/operator/describeLiveSessions.js';
import type { StreamSessionStats } from '../../edge/session/StreamSession.js';

function session(over: Partial<StreamSessionStats>): StreamSessionStats {
  return {
    sessionId: 'a'.repeat(32),
    gameId: 'g',
    state: 'streaming',
    width: 1280,
    height: 720,
    fps: 30,
    encoder: 'libx264',
    bitrateKbps: 6000,
    framesSent: 0,
    framesDroppedBusy: 0,
    framesDroppedLate: 0,
    framesDroppedCongested: 0,
    keyframes: 1,
    bytesSent: 0,
    inputMessages: 0,
    badInputMessages: 0,
    lastInputSeq: 0,
    audioPackets: 0,
    nacks: 0,
    plis: 0,
    firs: 0,
    keyRefreshes: 0,
    staleKeysReleased: 0,
    ...over,
  };
}

const timing = { count: 0, p50: 0, p95: 0, p99: 0, max: 0 };

describe('operator wording', () => {
  it('says contract delays in plain words', () => {
    expect(describeDuration(7 * 86_400)).toBe('7 days');
    expect(describeDuration(2 * 86_400 + 6 * 3_600 + 59)).toBe('2 days 6 hours');
    expect(describeDuration(3_600 + 60)).toBe('1 hour 1 minute');
    expect(describeDuration(45n)).toBe('45 seconds');
    expect(describeDuration(0)).toBe('no time');
  });

  it('sums the live sessions and names the failing QoS metric of an overloaded one', () => {
    const stats: EdgeStats = {
      edgeMs: timing,
      encodeMs: timing,
      captureMs: timing,
      sessions: [
        session({ sessionId: 'b'.repeat(32), framesSent: 1800 }),
        session({ framesSent: 1200, framesDroppedBusy: 600 }),
        session({ state: 'connecting' }),
      ],
      endedByCode: { '1000': 4, '4408': 1 },
    };
    const live = describeLiveSessions(stats);
    expect(live).toMatchObject({ live: 3, streaming: 2, ended: 5 });
    expect(live.minutesPlayed).toBeCloseTo((1800 + 1200) / 30 / 60, 5);
    expect(live.failing).toHaveLength(1);
    expect(live.failing[0]).toMatch(
      /^session aaaaaaaaaaaa… sends 67 % of its 30 fps \(metric: frames sent vs target, policy minTargetFpsRatio 90 %\)/,
    );
  });
});
