import { describe, expect, it } from 'vitest';
import { SessionStats } from '../../edge/session/SessionStats.js';
import { toQosMetrics } from '../../edge/session/toQosMetrics.js';

describe('SessionStats', () => {
  it('keeps cumulative counters and hands over per-period windows that map onto QosMetrics', () => {
    let now = 0;
    const stats = new SessionStats(() => now);
    for (let i = 0; i < 60; i++) {
      stats.recordEncoded(2 + (i % 3), true);
      stats.recordSent(12_500, 5, i === 0);
    }
    stats.recordNack();
    stats.recordPli();
    stats.recordReceiverReport({ rttMs: 40, jitterMs: 3, fractionLost: 0.01 });
    stats.recordReceiverReport({ rttMs: 60, jitterMs: 5, fractionLost: 0 });
    now = 1000;
    const first = stats.takePeriod();
    expect(first).toMatchObject({
      startMs: 0,
      endMs: 1000,
      framesEncoded: 60,
      framesSent: 60,
      bytesSent: 750_000,
      bitrateKbps: 6000,
      rttMs: 40,
      jitterMs: 3,
      lossPpm: 10_000,
      nacks: 1,
      plis: 1,
      keyframes: 1,
    });
    expect(first.encodeMs).toMatchObject({ count: 60, p50: 3, max: 4 });
    expect(toQosMetrics(first)).toEqual({
      frames: 60,
      bitrateKbps: 6000,
      encodeTimeUs: 3000,
      rttMs: 40,
      jitterMs: 3,
      lossPpm: 10_000,
      freezeMs: 0,
    });
    // The next period starts empty; the cumulative counters go on.
    stats.recordSent(1000, 5, false);
    now = 61_000;
    const second = stats.takePeriod();
    expect(second).toMatchObject({ startMs: 1000, framesSent: 1, nacks: 0, rttMs: undefined, lossPpm: 0 });
    expect(toQosMetrics(second).rttMs).toBe(0);
    expect(stats.counters()).toMatchObject({
      framesSent: 61,
      framesEncoded: 60,
      nacks: 1,
      plis: 1,
      keyframes: 1,
    });
  });
});
