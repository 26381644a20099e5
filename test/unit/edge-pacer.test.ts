import { describe, expect, it } from 'vitest';
import { FramePacer } from '../../edge/media/FramePacer.js';
import { SyncClock } from './helpers/SyncClock.js';

describe('frame pacer', () => {
  it('fires on a drift-free schedule at the game fps', async () => {
    const clock = new SyncClock();
    const due: number[] = [];
    const pacer = new FramePacer({ fps: 60, clock, onFrame: (_index, dueMs) => void due.push(dueMs) });
    pacer.start();
    await clock.advance(1000.5);
    pacer.stop();
    expect(due.length).toBe(61); // slots 0..60 inclusive within one second
    // Slot n is due at n × 16.67 ms, not at an accumulated interval.
    expect(due[60]).toBeCloseTo(1000, 6);
    expect(pacer.stats.droppedBusy).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('drops frames while the encoder is busy instead of queueing them', async () => {
    const clock = new SyncClock();
    const started: Array<{ index: number; at: number }> = [];
    let release: (() => void) | undefined;
    const pacer = new FramePacer({
      fps: 30,
      clock,
      onFrame: (index) => {
        started.push({ index, at: clock.now() });
        // A slow encoder: each frame takes 80 ms (≈ 2.4 frame slots).
        return new Promise<void>((resolve) => {
          release = resolve;
          clock.setTimeout(() => resolve(), 80);
        });
      },
    });
    pacer.start();
    await clock.advance(1000.5);
    pacer.stop();
    release?.();
    // 1 s at 30 fps = 31 slots; an 80 ms encode lets at most one slot in 2-3 through.
    expect(started.length).toBeGreaterThanOrEqual(11);
    expect(started.length).toBeLessThanOrEqual(14);
    expect(pacer.stats.droppedBusy + pacer.stats.frames).toBe(31);
    const interval = 1000 / 30;
    for (let i = 1; i < started.length; i++) {
      const frame = started[i] as { index: number; at: number };
      const previous = started[i - 1] as { index: number; at: number };
      // Never a burst of stale frames: one at a time, each within half a slot of its own time.
      expect(frame.at - previous.at).toBeGreaterThanOrEqual(80 - 1e-6);
      expect(frame.at - frame.index * interval).toBeLessThanOrEqual(interval / 2 + 1e-6);
      expect(frame.index).toBeGreaterThanOrEqual(previous.index + 2);
    }
  });

  it('fires a slot that found the encoder busy as soon as it is done, when that is within half a slot', async () => {
    const clock = new SyncClock();
    const started: number[] = [];
    const pacer = new FramePacer({
      fps: 60,
      clock,
      // A CPU a little short: 18 ms per frame against 16.7 ms slots.
      onFrame: (index) => {
        started.push(index);
        return new Promise<void>((resolve) => clock.setTimeout(() => resolve(), 18));
      },
    });
    pacer.start();
    await clock.advance(1000.5);
    pacer.stop();
    // Dropping every slot that finds the encoder busy would give 31 frames; waiting a little gives ~55.
    expect(started.length).toBeGreaterThanOrEqual(50);
    expect(pacer.stats.caughtUp).toBeGreaterThan(40);
    expect(pacer.stats.droppedBusy + pacer.stats.frames).toBe(61);
  });

  it('jumps to the current slot after a stall instead of bursting', async () => {
    const clock = new SyncClock();
    const fired: number[] = [];
    const pacer = new FramePacer({ fps: 60, clock, onFrame: (index) => void fired.push(index) });
    pacer.start();
    await clock.advance(50); // slots 0..3
    clock.time += 500; // the event loop was blocked for half a second
    await clock.advance(20);
    pacer.stop();
    const afterStall = fired.filter((index) => index > 3);
    expect(afterStall[0]).toBe(33); // (550 ms / 16.67) → slot 33, not slot 4
    expect(pacer.stats.droppedLate).toBe(29);
  });

  it('keeps running when a frame fails and reports the error', async () => {
    const clock = new SyncClock();
    const errors: unknown[] = [];
    let calls = 0;
    const pacer = new FramePacer({
      fps: 10,
      clock,
      onFrame: () => {
        calls++;
        if (calls === 2) throw new Error('boom');
        if (calls === 3) return Promise.reject(new Error('async boom'));
      },
      onError: (error) => errors.push(error),
    });
    pacer.start();
    await clock.advance(500);
    pacer.stop();
    expect(errors).toHaveLength(2);
    expect(calls).toBe(6);
  });
});
