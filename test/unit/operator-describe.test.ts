import { describe, expect, it } from 'vitest';
import type { EdgeEarnings, OperatorVerdict } from '../../edge/billing/readEarnings.js';
import type { EdgeStats } from '../../edge/Edge.js';
import { describeDuration } from '../../edge/operator/describeDuration.js';
import { describeFailingQos } from '../../edge/operator/describeEarnings.js';
import { describeLiveSessions } from '../../edge/operator/describeLiveSessions.js';
import type { StreamSessionStats } from '../../edge/session/StreamSession.js';
import { QOS_POLICY } from '../../protocol/qosPolicy.js';

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
    framesSuperseded: 0,
    keyframes: 1,
    bytesSent: 0,
    inputMessages: 0,
    badInputMessages: 0,
    lastInputSeq: 0,
    audioPackets: 0,
    nacks: 0,
    plis: 0,
    firs: 0,
    dependencyDescriptor: false,
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

describe('the checkers’ verdicts as reasons not to earn', () => {
  const earnings = (latest: OperatorVerdict, endedAt?: number): EdgeEarnings => ({
    billing: true,
    edge: '0x0000000000000000000000000000000000000001',
    asOf: 0,
    today: { day: '2026-11-30', sessions: 1, played: 3, attested: 2, paid: 2 },
    pending: 0,
    lastSettlement: null,
    escrow: { earningsWei: '0' },
    sessions: [
      {
        sessionId: `0x${'ab'.repeat(32)}`,
        played: 3,
        attested: 2,
        paid: 2,
        pending: 0,
        ended: endedAt !== undefined,
        startedAt: 0,
        ...(endedAt !== undefined ? { endedAt } : {}),
        checkers: ['http://127.0.0.1:1'],
        qos: {
          checker: `0x${'cd'.repeat(20)}`,
          decided: 3,
          billable: 2,
          latest,
          failing: [latest],
          policy: QOS_POLICY,
        },
      },
    ],
  });
  const figures = { expectedFrames: 1800, deliveredFrames: 900, freezeMs: 0, rttMs: 20, lossPpm: 0 };

  it('names each failing metric with its figure against the policy', () => {
    const [line] = describeFailingQos(
      earnings({
        minute: 2,
        billable: false,
        reasons: ['below-target-fps', 'loss'],
        figures: { ...figures, lossPpm: 80_000 },
      }),
      1000,
    );
    expect(line).toContain('session 0xabababab… minute 2 (checker 0xcdcdcdcd…)');
    expect(line).toContain(
      'metric delivered fps: 900 of the 1800 frames the target fps asks for (policy 90 %)',
    );
    expect(line).toContain('metric loss: 8.0 % of packets (policy at most 2.0 %)');
  });

  it('says nothing for a billable last minute or a session that ended over an hour ago', () => {
    expect(describeFailingQos(earnings({ minute: 2, billable: true, reasons: [], figures }), 1000)).toEqual(
      [],
    );
    const old = earnings({ minute: 2, billable: false, reasons: ['rtt'], figures }, 0);
    expect(describeFailingQos(old, 3_600_001)).toEqual([]);
    expect(describeFailingQos(old, 1000)).toHaveLength(1);
  });
});
