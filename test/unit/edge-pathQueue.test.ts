import { describe, expect, it } from 'vitest';
import { PathQueue } from '../../edge/media/congestion/PathQueue.js';

describe('the path queue read from transport-cc', () => {
  it("reads how long packets wait over the path's own delay, on mixed clocks", () => {
    const queue = new PathQueue();
    // The receiver's clock runs 5,000 ms ahead; the path's own delay is 10 ms.
    for (let ms = 0; ms < 500; ms += 10) queue.onPacket(ms, ms + 5010, ms + 40);
    expect(queue.queueMs).toBe(0);
    // A link drop: packets sent at 500-700 ms wait 0 → 100 ms in the bottleneck.
    for (let ms = 500; ms <= 700; ms += 10) queue.onPacket(ms, ms + 5010 + (ms - 500) / 2, ms + 40);
    expect(queue.queueMs).toBe(100);
    // It drains.
    queue.onPacket(710, 710 + 5010 + 20, 760);
    expect(queue.queueMs).toBe(20);
  });

  it('takes a route that got longer for the new baseline within 2 s', () => {
    const queue = new PathQueue();
    for (let ms = 0; ms < 1000; ms += 10) queue.onPacket(ms, ms + 10, ms + 20);
    // From 1 s the path takes 60 ms more, for good.
    let readings: number[] = [];
    for (let ms = 1000; ms < 4000; ms += 10) {
      queue.onPacket(ms, ms + 70, ms + 80);
      readings.push(queue.queueMs);
    }
    expect(readings[0]).toBe(60);
    readings = readings.slice(-100); // the last second
    expect(readings.every((r) => r === 0)).toBe(true);
  });
});
