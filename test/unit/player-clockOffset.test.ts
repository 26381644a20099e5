import { describe, expect, it } from 'vitest';
import { type ClockSample, estimateClockOffset } from '../../player/src/estimateClockOffset.js';
import { glassToGlassMs } from '../../player/src/glassToGlassMs.js';

// Glass-to-glass compares the page's clock (when a frame is shown) with the edge's clock (the capture
// time stamped into the frame). Here both clocks are skewed from a true time line by known amounts, and
// the player's arithmetic must recover the true latency from ping exchanges alone.

/** A page and an edge whose clocks read true time + skew. */
function world(pageSkew: number, edgeSkew: number) {
  return {
    /** One exchange sent at true time `t`, `up` ms to the edge and `down` ms back. */
    exchange(t: number, up: number, down: number): ClockSample {
      return { sentAt: t + pageSkew, edgeTime: t + up + edgeSkew, receivedAt: t + up + down + pageSkew };
    },
    /** A frame captured at true time `t` and shown `latency` ms later: (shown on page clock, stamp on edge clock). */
    frame(t: number, latency: number): [number, number] {
      return [t + latency + pageSkew, t + edgeSkew];
    },
  };
}

const T = 1_764_450_000_000;

describe('estimateClockOffset + glassToGlassMs', () => {
  it('recovers the true latency when the edge clock is ahead or behind by seconds', () => {
    for (const [pageSkew, edgeSkew] of [
      [0, 5000],
      [0, -3000],
      [1234.5, -987.25],
    ] as const) {
      const w = world(pageSkew, edgeSkew);
      const samples = [w.exchange(T, 10, 10), w.exchange(T + 500, 12, 12), w.exchange(T + 1000, 9, 9)];
      const offset = estimateClockOffset(samples);
      expect(offset?.offsetMs).toBeCloseTo(edgeSkew - pageSkew, 6);
      expect(offset?.rttMs).toBe(18);
      expect(offset?.uncertaintyMs).toBe(9);
      const [shown, stamped] = w.frame(T + 2000, 34);
      expect(glassToGlassMs(shown, stamped, offset)).toBeCloseTo(34, 6);
      // Taking the clocks as equal would be off by the whole skew (or clamp a negative to 0).
      expect(glassToGlassMs(shown, stamped, undefined)).not.toBeCloseTo(34, 0);
    }
  });

  it('uses the exchange with the smallest round trip (queueing makes the legs unequal)', () => {
    const w = world(-40, 2500);
    const samples = [
      w.exchange(T, 45, 3), // queued on the way up: midpoint 21 ms off
      w.exchange(T + 100, 2, 60), // queued on the way back
      w.exchange(T + 200, 2.5, 2), // clean: off by 0.25 ms
      w.exchange(T + 300, 30, 30),
    ];
    const offset = estimateClockOffset(samples);
    expect(offset?.rttMs).toBe(4.5);
    expect(Math.abs((offset?.offsetMs ?? 0) - 2540)).toBeLessThanOrEqual(offset?.uncertaintyMs ?? 0);
    const [shown, stamped] = w.frame(T + 1000, 20);
    expect(Math.abs(glassToGlassMs(shown, stamped, offset) - 20)).toBeLessThanOrEqual(0.25 + 1e-9);
  });

  it('never reports a negative latency, and stays within the stated uncertainty of the truth', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 2000; i++) {
      const w = world((random() - 0.5) * 20_000, (random() - 0.5) * 20_000);
      const samples = Array.from({ length: 1 + Math.floor(random() * 8) }, (_, k) =>
        w.exchange(T + k * 500, random() * 30, random() * 30),
      );
      const offset = estimateClockOffset(samples);
      const latency = random() * 5; // frames shown 0–5 ms after capture: the estimate's error dominates
      const [shown, stamped] = w.frame(T + 5000, latency);
      const measured = glassToGlassMs(shown, stamped, offset);
      expect(measured).toBeGreaterThanOrEqual(0);
      expect(Math.abs(measured - latency)).toBeLessThanOrEqual((offset?.uncertaintyMs ?? 0) + 1e-6);
    }
  });

  it('has no estimate without a usable exchange', () => {
    expect(estimateClockOffset([])).toBeUndefined();
    expect(estimateClockOffset([{ sentAt: 10, edgeTime: 5, receivedAt: 9 }])).toBeUndefined();
    expect(estimateClockOffset([{ sentAt: 10, edgeTime: Number.NaN, receivedAt: 12 }])).toBeUndefined();
  });
});
