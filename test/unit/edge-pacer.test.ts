import { describe, expect, it } from 'vitest';
import { FramePacer, type PacerClock } from '../../edge/media/FramePacer.js';

/** A hand-driven clock: timers fire only when the test advances time. */
class ManualClock implements PacerClock {
  time = 0;
  #timers: Array<{ at: number; callback: () => void; id: number }> = [];
  #nextId = 1;

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.#nextId++;
    this.#timers.push({ at: this.time + ms, callback, id });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers = this.#timers.filter((timer) => timer.id !== handle);
  }

  get pending(): number {
    return this.#timers.length;
  }

  /** Advances to `ms` later, firing due timers in order (a blocked loop is `advance` with `block`). */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      this.#timers.sort((a, b) => a.at - b.at);
      const next = this.#timers[0];
      if (!next || next.at > end) break;
      this.#timers.shift();
      this.time = Math.max(this.time, next.at);
      next.callback();
      await Promise.resolve();
      await Promise.resolve();
    }
    this.time = end;
  }
}

describe('frame pacer', () => {
  it('fires on a drift-free schedule at the game fps', async () => {
    const clock = new ManualClock();
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
    const clock = new ManualClock();
    const started: number[] = [];
    let release: (() => void) | undefined;
    const pacer = new FramePacer({
      fps: 30,
      clock,
      onFrame: (index) => {
        started.push(index);
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
    // 1 s at 30 fps = 31 slots; an 80 ms encode finishes inside the third slot, so every third slot encodes.
    expect(started.length).toBeGreaterThanOrEqual(10);
    expect(started.length).toBeLessThanOrEqual(11);
    expect(pacer.stats.droppedBusy + pacer.stats.frames).toBe(31);
    // Never a burst of stale frames: consecutive encoded slots are at least 3 apart.
    for (let i = 1; i < started.length; i++) expect((started[i] ?? 0) - (started[i - 1] ?? 0)).toBe(3);
  });

  it('jumps to the current slot after a stall instead of bursting', async () => {
    const clock = new ManualClock();
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
    const clock = new ManualClock();
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
