import { describe, expect, it } from 'vitest';
import type { QosMetrics } from '../../protocol/eip712.js';
import { evaluateMinute, type MinuteSide } from '../../protocol/evaluateMinute.js';
import { EMPTY_DETAIL } from '../../protocol/QosReportChain.js';
import { QOS_POLICY, qosPolicy, qosPolicyHash } from '../../protocol/qosPolicy.js';

const metrics = (m: Partial<QosMetrics>): QosMetrics => ({
  frames: 3600,
  bitrateKbps: 4000,
  encodeTimeUs: 2000,
  rttMs: 30,
  jitterMs: 2,
  lossPpm: 1000,
  freezeMs: 0,
  ...m,
});
const edge = (m: Partial<QosMetrics> = {}, targetFps = 60): MinuteSide => ({
  metrics: metrics(m),
  detail: { ...EMPTY_DETAIL, targetFps, framesEncoded: m.frames ?? 3600 },
});
const player = (m: Partial<QosMetrics> = {}): MinuteSide => ({
  metrics: metrics(m),
  detail: { ...EMPTY_DETAIL },
});
const policy = QOS_POLICY;

describe('evaluateMinute (the one evaluator of the published QoS policy)', () => {
  it('bills a minute both ends agree was good', () => {
    const v = evaluateMinute({ policy, minute: 3, edge: edge(), player: player({ frames: 3590 }) });
    expect(v).toMatchObject({ minute: 3, billable: true, reasons: [], disputes: [], contradiction: false });
    expect(v.figures?.deliveredFrames).toBe(3590);
  });

  it('records the checker’s probe RTT against both ends’ claims, deciding nothing by it (another path)', () => {
    const near = evaluateMinute({ policy, minute: 2, edge: edge(), player: player(), probe: { rttMs: 12 } });
    expect(near).toMatchObject({ billable: true, disputes: [] });
    expect(near.figures?.probeRttMs).toBe(12);
    // Both ends claim 30 ms; the checker sees 260 ms to the edge: recorded, still billed on the ends' figures.
    const far = evaluateMinute({
      policy,
      minute: 2,
      edge: edge({ rttMs: 30 }),
      player: player({ rttMs: 28 }),
      probe: { rttMs: 260 },
    });
    expect(far.billable).toBe(true);
    expect(far.disputes).toEqual([{ kind: 'probe-rtt', edge: 30, player: 28, probe: 260, decided: 30 }]);
    expect(far.figures?.rttMs).toBe(30);
    // Within the tolerance (100 ms), or without a probe: nothing recorded.
    expect(
      evaluateMinute({ policy, minute: 2, edge: edge(), player: player(), probe: { rttMs: 130 } }).disputes,
    ).toEqual([]);
    expect(evaluateMinute({ policy, minute: 2, edge: edge(), player: player() }).figures).not.toHaveProperty(
      'probeRttMs',
    );
  });

  it('does not bill a minute a side did not report', () => {
    expect(evaluateMinute({ policy, minute: 0, edge: edge() }).reasons).toEqual(['no-player-report']);
    expect(evaluateMinute({ policy, minute: 0, player: player() }).reasons).toEqual(['no-edge-report']);
    expect(evaluateMinute({ policy, minute: 0 }).billable).toBe(false);
  });

  it('catches an edge whose 60 fps the player refutes (20 decoded): unbillable, disputed, a contradiction', () => {
    const v = evaluateMinute({
      policy,
      minute: 1,
      edge: edge({ frames: 3600 }),
      player: player({ frames: 1200 }),
    });
    expect(v.billable).toBe(false);
    expect(v.reasons).toContain('frames-lost');
    expect(v.reasons).toContain('below-target-fps');
    expect(v.disputes).toEqual([{ kind: 'frames-refuted', edge: 3600, player: 1200, decided: 1200 }]);
    expect(v.contradiction).toBe(true);
  });

  it('does not bill an edge that honestly sent too few frames (no contradiction)', () => {
    const v = evaluateMinute({
      policy,
      minute: 1,
      edge: edge({ frames: 1500 }),
      player: player({ frames: 1500 }),
    });
    expect(v.reasons).toEqual(['below-target-fps']);
    expect(v.contradiction).toBe(false);
  });

  it('bounds the player’s count by what the edge sent, recording the dispute', () => {
    const v = evaluateMinute({
      policy,
      minute: 1,
      edge: edge({ frames: 3000 }),
      player: player({ frames: 3600 }),
    });
    expect(v.disputes[0]).toEqual({ kind: 'frames-over-sent', edge: 3000, player: 3600, decided: 3000 });
    expect(v.reasons).toEqual(['below-target-fps']);
  });

  it('decides RTT and loss by the worse figure and records a disagreement beyond tolerance', () => {
    const v = evaluateMinute({
      policy,
      minute: 2,
      edge: edge({ rttMs: 20 }),
      player: player({ rttMs: 200 }),
    });
    expect(v.billable).toBe(false);
    expect(v.reasons).toEqual(['rtt']);
    expect(v.disputes).toEqual([{ kind: 'rtt', edge: 20, player: 200, decided: 200 }]);
    const loss = evaluateMinute({
      policy,
      minute: 2,
      edge: edge({ lossPpm: 80_000 }),
      player: player({ lossPpm: 70_000 }),
    });
    expect(loss.reasons).toEqual(['loss']);
    expect(loss.disputes).toEqual([]);
  });

  it('scales the freeze allowance and the expected frames to the policy period', () => {
    const short = qosPolicy({ periodMs: 1000 });
    const ok = evaluateMinute({
      policy: short,
      minute: 0,
      edge: edge({ frames: 60 }),
      player: player({ frames: 60, freezeMs: 40 }),
    });
    expect(ok.billable).toBe(true);
    const frozen = evaluateMinute({
      policy: short,
      minute: 0,
      edge: edge({ frames: 60 }),
      player: player({ frames: 60, freezeMs: 60 }),
    });
    expect(frozen.reasons).toEqual(['freeze']);
    expect(qosPolicyHash(short)).not.toBe(qosPolicyHash());
  });
});
