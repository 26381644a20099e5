import { describe, expect, it } from 'vitest';
import { QualityLadder } from '../../edge/media/QualityLadder.js';

const MBIT = 1_000_000;

describe('quality ladder', () => {
  const top = { width: 1280, height: 720, fps: 60 };

  it('steps resolution down before frame rate', () => {
    const ladder = new QualityLadder({ top });
    expect(ladder.rungs.map((r) => `${r.width}x${r.height}@${r.fps}`)).toEqual([
      '1280x720@60',
      '960x540@60',
      '640x360@60',
      '480x270@60',
      '480x270@30',
    ]);
  });

  it('goes down only after the estimate stays short for a second, straight to a rung it covers', () => {
    const ladder = new QualityLadder({ top });
    expect(ladder.update(3 * MBIT, 0)).toBeUndefined();
    expect(ladder.update(3 * MBIT, 500)).toBeUndefined();
    // A blip back above resets the timer.
    expect(ladder.update(8 * MBIT, 600)).toBeUndefined();
    expect(ladder.update(3 * MBIT, 700)).toBeUndefined();
    expect(ladder.update(3 * MBIT, 1500)).toBeUndefined();
    const change = ladder.update(3 * MBIT, 1700);
    expect(change?.direction).toBe('down');
    // 960×540@60 needs 3.1 Mbit/s: 3 Mbit/s is not enough, 640×360@60 (1.4) is.
    expect(change?.rung).toEqual({ width: 640, height: 360, fps: 60 });
    expect(change?.reason).toMatch(/3\.0 Mbit\/s < 5\.5 Mbit\/s needed for 1280×720@60/);
  });

  it('steps down at once when a repair keyframe is due while the estimate is short, not after the hold', () => {
    const ladder = new QualityLadder({ top });
    // The link dropped: 2.9 Mbit/s is short of 1280×720 (5.5) but not deeply (the hold would be 1 s).
    expect(ladder.update(2.9 * MBIT, 0)).toBeUndefined();
    const change = ladder.stepDownForRepair(2.9 * MBIT, 100);
    expect(change?.direction).toBe('down');
    expect(change?.rung).toEqual({ width: 640, height: 360, fps: 60 });
    // With headroom (the estimate is usually still falling): 3.3 Mbit/s would cover 960×540 (3.1).
    const falling = new QualityLadder({ top });
    expect(falling.stepDownForRepair(3.3 * MBIT, 0)?.rung).toEqual({ width: 640, height: 360, fps: 60 });
    // An estimate that covers the picture keeps it (the keyframe is then the same picture's).
    expect(new QualityLadder({ top }).stepDownForRepair(8 * MBIT, 0)).toBeUndefined();
  });

  it('lowers the frame rate only below the smallest resolution', () => {
    const ladder = new QualityLadder({ top });
    ladder.update(0.3 * MBIT, 0);
    expect(ladder.update(0.3 * MBIT, 1000)?.rung).toEqual({ width: 480, height: 270, fps: 30 });
  });

  it('comes back up one rung per 4 s while the estimate covers the next with margin, faster where it covers it twice over', () => {
    const ladder = new QualityLadder({ top });
    ladder.update(1 * MBIT, 0);
    ladder.update(1 * MBIT, 1000);
    expect(ladder.rung.height).toBe(270);
    // 8 Mbit/s covers 640×360 (1.4 Mbit/s × 1.3) twice over: one second; 960×540 (3.1) and 1280×720
    // (5.5) only with the 1.3× margin: one rung per 4 s of holding.
    const ups: Array<{ ms: number; height: number }> = [];
    for (let ms = 2000; ms <= 20_000; ms += 500) {
      const change = ladder.update(8 * MBIT, ms);
      if (change) ups.push({ ms, height: change.rung.height });
    }
    expect(ups).toEqual([
      { ms: 3000, height: 360 },
      { ms: 7500, height: 540 },
      { ms: 12_000, height: 720 },
    ]);
  });

  it('goes straight back to the top a second after the link returns with twice what it needs', () => {
    const ladder = new QualityLadder({ top });
    ladder.update(1 * MBIT, 0);
    ladder.update(1 * MBIT, 1000);
    expect(ladder.rung.height).toBe(270);
    // A moment at 20 Mbit/s (a probe's overshoot) is not enough: the estimate must hold for a second.
    expect(ladder.update(20 * MBIT, 2000)).toBeUndefined();
    expect(ladder.update(3 * MBIT, 2500)).toBeUndefined();
    expect(ladder.update(20 * MBIT, 3000)).toBeUndefined();
    expect(ladder.update(20 * MBIT, 3500)).toBeUndefined();
    const change = ladder.update(20 * MBIT, 4000);
    // One step, one new encoder (one keyframe), instead of three a rung every 4 s.
    expect(change?.rung.height).toBe(720);
    expect(change?.reason).toMatch(/20\.0 Mbit\/s ≥ 14\.4 Mbit\/s for 1280×720@60 for 1\.0 s/);
    // Just above the need of the next rung is not enough (1.3× margin).
    const low = new QualityLadder({ top });
    low.update(2 * MBIT, 0);
    low.update(2 * MBIT, 1000);
    expect(low.rung.height).toBe(360);
    for (let ms = 2000; ms < 20_000; ms += 500) expect(low.update(3.5 * MBIT, ms)).toBeUndefined();
  });

  it('picks the rung by the mean estimate over the hold, so a dip at its end does not send it to the bottom', () => {
    const ladder = new QualityLadder({ top });
    for (let ms = 0; ms < 1000; ms += 100) ladder.update(3 * MBIT, ms);
    // The last sample is a loss burst's dip: the mean (~2.7 Mbit/s) still covers 640×360@60.
    expect(ladder.update(0.4 * MBIT, 1000)?.rung).toEqual({ width: 640, height: 360, fps: 60 });
  });

  it('does not flap: a step up undone within 10 s doubles the hold before the next one', () => {
    const ladder = new QualityLadder({ top, upAfterMs: 4000 });
    ladder.update(2 * MBIT, 0);
    expect(ladder.update(2 * MBIT, 1000)?.rung.height).toBe(360);
    const moves: Array<{ ms: number; direction: string }> = [];
    // The link swings: good for 9 s (enough for one step up), then short for 2 s, again and again.
    for (let ms = 1500; ms <= 60_000; ms += 250) {
      const good = (ms - 1500) % 11_000 < 9000;
      const change = ladder.update((good ? 5 : 2) * MBIT, ms);
      if (change) moves.push({ ms, direction: change.direction });
    }
    const ups = moves.filter((m) => m.direction === 'up');
    // Without the penalty each 11 s cycle would go up and down again (5 ups); with it the hold grows
    // to 8 s, then 16 s, longer than the good spells: two ups, then the picture stays down.
    expect(ups.length).toBe(2);
    expect(ladder.upAfterMs).toBe(16_000);
    expect(ladder.rung.height).toBe(360);
  });
});
