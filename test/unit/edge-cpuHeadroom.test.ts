import { describe, expect, it } from 'vitest';
import { type CpuDecision, CpuHeadroom, type CpuJudgeInput } from '../../edge/media/CpuHeadroom.js';
import { QualityLadder } from '../../edge/media/QualityLadder.js';
import { SyncClock } from './helpers/SyncClock.js';

const MBIT = 1_000_000;
const top = { width: 1280, height: 720, fps: 60 };

/** The rate control's side, as VideoRateControl drives it: target, encoder bitrate, ladder. */
function harness(targetKbps: number) {
  const clock = new SyncClock();
  const cpu = new CpuHeadroom(clock);
  const ladder = new QualityLadder({ top });
  const decisions: Array<CpuDecision & { ms: number }> = [];
  let encoderKbps = targetKbps;
  let skipped = 0;
  /** Runs `ms` of frames at the current rung: each takes `encodeMs`, a share `encodedShare` gets encoded. */
  const run = (ms: number, encodeMs: (pixels: number) => number, encodedShare = 1, congested = false) => {
    const end = clock.time + ms;
    const rung = () => ladder.rung;
    let nextFrame = clock.time;
    let nextJudge = clock.time;
    while (clock.time < end) {
      const next = Math.min(nextFrame, nextJudge);
      clock.advanceTo(next);
      if (next === nextFrame) {
        skipped += 1 - encodedShare;
        if (skipped >= 1) {
          skipped -= 1;
          if (congested) cpu.recordCongestedSkip();
        } else cpu.recordEncode(encodeMs(rung().width * rung().height));
        nextFrame += 1000 / rung().fps;
      }
      if (next === nextJudge) {
        const higher = ladder.cpuLimited ? ladder.higher : undefined;
        const lower = ladder.lower;
        const fpsOnly = lower && lower.width === rung().width && lower.height === rung().height;
        const input: CpuJudgeInput = {
          fps: rung().fps,
          pixels: rung().width * rung().height,
          ...(higher ? { higher: { fps: higher.fps, pixels: higher.width * higher.height } } : {}),
          ...(fpsOnly ? { lowerFps: lower.fps } : {}),
          encoderKbps,
          targetKbps,
          floorKbps: ladder.needBps(rung()) / 2000,
          canStepDown: true,
        };
        const decision = cpu.judge(input);
        encoderKbps = Math.min(targetKbps, decision.capKbps ?? targetKbps);
        if (decision.release) ladder.releaseCpu();
        if (decision.stepDown !== undefined) {
          ladder.stepDownForCpu(clock.time, decision.stepDown);
          cpu.reset();
        }
        if (decision.stepDown !== undefined || decision.release || decision.reason)
          decisions.push({ ms: clock.time, ...decision });
        nextJudge += 100;
      }
    }
  };
  return { clock, cpu, ladder, decisions, run, encoderKbps: () => encoderKbps };
}

/** x264-like cost: proportional to pixels, `msAt720p` for a 1280×720 frame. */
const cost = (msAt720p: number) => (pixels: number) => (msAt720p * pixels) / (1280 * 720);

describe('CPU headroom', () => {
  it('leaves a stream alone while the encoder has headroom', () => {
    const h = harness(10_000);
    h.run(10_000, cost(4));
    expect(h.decisions).toEqual([]);
    expect(h.encoderKbps()).toBe(10_000);
    expect(h.cpu.load.load).toBeCloseTo(0.24, 1);
  });

  it('caps the bitrate first, then steps the resolution down when the encoder takes most of each frame', () => {
    const h = harness(10_000);
    // 14 ms of a 16.7 ms frame and one frame in six skipped: the CPU, not the network.
    h.run(1200, cost(14), 5 / 6);
    expect(h.decisions[0]?.capKbps).toBe(7500);
    expect(h.decisions[0]?.reason).toMatch(
      /^CPU: encode 14\.0 ms of 16\.7 ms per frame, 5\d of 60 fps; bitrate capped at 7500/,
    );
    expect(h.encoderKbps()).toBe(7500);
    h.run(2000, cost(14), 5 / 6);
    const step = h.decisions.find((d) => d.stepDown !== undefined);
    expect(step?.stepDown).toMatch(/encode 14\.0 ms/);
    expect(h.ladder.rung).toEqual({ width: 960, height: 540, fps: 60 });
    // At 960×540 the same encoder needs 7.9 ms: no further step, and the estimate cannot lift it back.
    h.run(6000, cost(14));
    expect(h.ladder.rung.height).toBe(540);
    expect(h.ladder.update(50 * MBIT, h.clock.time)).toBeUndefined();
  });

  it('steps the frame rate down once the resolution is at its smallest, when fewer frames come out than that', () => {
    const h = harness(10_000);
    // So short of CPU that no size keeps 60 fps, and under 30 come out: every rung down in turn, then
    // half the frame rate.
    h.run(20_000, () => 17, 0.45);
    expect(h.ladder.rung).toEqual({ width: 480, height: 270, fps: 30 });
  });

  it('keeps the full frame rate at the smallest size while the CPU still gets more than half the frames out', () => {
    const h = harness(10_000);
    // 42 of 60 fps at every size: 30 fps would drop frames, not save them; the bitrate is capped instead.
    h.run(20_000, () => 17, 0.7);
    expect(h.ladder.rung).toEqual({ width: 480, height: 270, fps: 60 });
    expect(h.cpu.capKbps).not.toBeNull();
  });

  it('does not blame the CPU for frames the congested pacer held back', () => {
    const h = harness(10_000);
    h.run(5000, cost(4), 0.5, true);
    expect(h.decisions).toEqual([]);
  });

  it('gives the bitrate and then the picture back once the CPU has headroom again', () => {
    const h = harness(10_000);
    let msAt720p = 14;
    h.run(3200, () => msAt720p, 5 / 6);
    expect(h.ladder.rung.height).toBe(540);
    const capped = h.cpu.capKbps ?? 0;
    expect(capped).toBeLessThan(10_000);
    // The other load goes away: the encoder now needs 4 ms at 720p.
    msAt720p = 4;
    h.run(4000, cost(msAt720p));
    expect(h.cpu.capKbps).toBeNull(); // grown back past the target
    h.run(2000, cost(msAt720p));
    const release = h.decisions.find((d) => d.release);
    expect(release).toBeDefined();
    // Now the estimate may lift the picture again (after the ladder's own 4 s hold).
    let up: ReturnType<QualityLadder['update']>;
    for (let ms = h.clock.time; ms <= h.clock.time + 5000 && !up; ms += 100)
      up = h.ladder.update(50 * MBIT, ms);
    expect(up?.rung.height).toBe(720);
  });
});
