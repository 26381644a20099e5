import { describe, expect, it } from 'vitest';
import { PacketPacer } from '../../edge/media/congestion/PacketPacer.js';
import { SyncClock } from './helpers/SyncClock.js';

/** A bottleneck of `bps` with a tail-drop queue of `queueMs` (the netlab's tbf: 50 ms). */
class Bottleneck {
  #freeAt = 0;
  dropped = 0;
  maxDelayMs = 0;
  constructor(
    readonly clock: SyncClock,
    readonly bps: number,
    readonly queueMs: number,
  ) {}

  push(size: number): void {
    const now = this.clock.now();
    const waiting = Math.max(0, this.#freeAt - now);
    if (waiting > this.queueMs) {
      this.dropped++;
      return;
    }
    this.#freeAt = Math.max(now, this.#freeAt) + (size * 8000) / this.bps;
    this.maxDelayMs = Math.max(this.maxDelayMs, this.#freeAt - now);
  }
}

const keyframe = (): number[] => Array.from({ length: 40 }, () => 1200); // 48 kB

/** A pacer of named 1000-byte packets at 800 kbit/s (100 bytes/ms: a packet every 10 ms), and what it sent. */
function slowPacer() {
  const clock = new SyncClock();
  const sent: string[] = [];
  const pacer = new PacketPacer<string>({
    clock,
    sizeOf: () => 1000,
    send: (packet) => sent.push(packet),
    rateBps: 800_000,
  });
  return { clock, sent, pacer };
}

describe('packet pacer', () => {
  it('a keyframe sent at line rate overflows a shallow 3 Mbit/s queue; paced at 1.5× it does not', () => {
    const clock = new SyncClock();
    const unpaced = new Bottleneck(clock, 3_000_000, 50);
    for (const size of keyframe()) unpaced.push(size);
    expect(unpaced.dropped).toBeGreaterThan(0);

    const link = new Bottleneck(clock, 3_000_000, 50);
    const pacer = new PacketPacer<number>({
      clock,
      sizeOf: (size) => size,
      send: (size) => link.push(size),
      rateBps: 1.5 * 3_000_000,
    });
    let done = false;
    void pacer.enqueue(keyframe()).then(() => {
      done = true;
    });
    clock.advanceTo(200);
    expect(link.dropped).toBe(0);
    expect(pacer.stats.packets).toBe(40);
    expect(pacer.queueBytes).toBe(0);
    // 48 kB at 4.5 Mbit/s ≈ 85 ms of sending.
    expect(pacer.stats.maxWaitMs).toBeGreaterThan(70);
    expect(pacer.stats.maxWaitMs).toBeLessThan(100);
    pacer.close();
    return Promise.resolve().then(() => expect(done).toBe(true));
  });

  it('sends frames in order and resolves each when its last packet has left', async () => {
    const { clock, sent, pacer } = slowPacer();
    const finished: string[] = [];
    const a = pacer.enqueue(['a1', 'a2', 'a3']).then(() => finished.push('a'));
    const b = pacer.enqueue(['b1', 'b2']).then(() => finished.push('b'));
    clock.advanceTo(25);
    await Promise.resolve();
    expect(sent.length).toBeLessThan(5);
    clock.advanceTo(100);
    await Promise.all([a, b]);
    expect(sent).toEqual(['a1', 'a2', 'a3', 'b1', 'b2']);
    expect(finished).toEqual(['a', 'b']);
    pacer.close();
  });

  it('sends retransmissions ahead of queued frames, still paced: a NACK burst after a drop does not overflow the queue it was lost at', () => {
    const clock = new SyncClock();
    const burst = (): number[] => Array.from({ length: 30 }, () => 1200); // 36 kB asked for at once
    const unpaced = new Bottleneck(clock, 3_000_000, 50);
    for (const size of burst()) unpaced.push(size);
    expect(unpaced.dropped).toBeGreaterThan(0);

    const link = new Bottleneck(clock, 3_000_000, 50);
    const order: string[] = [];
    const pacer = new PacketPacer<string>({
      clock,
      sizeOf: () => 1200,
      send: (packet) => {
        order.push(packet);
        link.push(1200);
      },
      rateBps: 1.5 * 3_000_000,
    });
    void pacer.enqueue(['f1', 'f2', 'f3', 'f4', 'f5']);
    burst().forEach((size, i) => {
      pacer.enqueuePriority(size, () => {
        order.push(`r${i}`);
        link.push(size);
      });
    });
    clock.advanceTo(300);
    expect(link.dropped).toBe(0);
    expect(pacer.queueBytes).toBe(0);
    // The first frame packet left before the burst was queued; the rest wait for the retransmissions.
    expect(order.slice(0, 2)).toEqual(['f1', 'r0']);
    expect(order.slice(-4)).toEqual(['f2', 'f3', 'f4', 'f5']);
    pacer.close();
  });

  it('drops what is still queued of older frames when a keyframe is queued: the keyframe leaves next', async () => {
    // Frames sized for a link that has just dropped: they queue.
    const { clock, sent, pacer } = slowPacer();
    const a = pacer.enqueue(['a1', 'a2', 'a3']);
    const b = pacer.enqueue(['b1', 'b2']);
    clock.advanceTo(12);
    const key = pacer.enqueue(['k1', 'k2'], true);
    expect(pacer.queueBytes).toBe(2000);
    clock.advanceTo(100);
    expect(await a).toBe(false);
    expect(await b).toBe(false);
    expect(await key).toBe(true);
    // a1 and a2 had left; the rest of a and all of b never go out, and nothing else waits.
    expect(sent).toEqual(['a1', 'a2', 'k1', 'k2']);
    expect(pacer.stats).toMatchObject({ supersededFrames: 2, supersededPackets: 3 });
    // A frame queued without `supersede` waits its turn as before.
    const c = pacer.enqueue(['c1']);
    const d = pacer.enqueue(['d1']);
    clock.advanceTo(200);
    expect([await c, await d]).toEqual([true, true]);
    pacer.close();
  });

  it('drains a backlog by its deadline even when the rate is set too low', () => {
    const clock = new SyncClock();
    const pacer = new PacketPacer<number>({
      clock,
      sizeOf: (size) => size,
      send: () => {},
      rateBps: 100_000,
      maxQueueMs: 250,
    });
    void pacer.enqueue(keyframe());
    clock.advanceTo(300);
    expect(pacer.queueBytes).toBe(0);
    pacer.close();
  });

  it('sends a probe cluster at its rate, padding when there is no media, tagged with its id', () => {
    const clock = new SyncClock();
    const sends: Array<{ ms: number; bytes: number; cluster: number }> = [];
    const pacer = new PacketPacer<number>({
      clock,
      sizeOf: (size) => size,
      send: (size, cluster) => sends.push({ ms: clock.now(), bytes: size, cluster }),
      sendPadding: (bytes, cluster) => {
        sends.push({ ms: clock.now(), bytes, cluster });
        return bytes;
      },
      rateBps: 1_000_000,
    });
    pacer.probe({ id: 7, bps: 8_000_000, bytes: 15_000, minPackets: 5 }); // 15 ms at 8 Mbit/s
    clock.advanceTo(100);
    const probe = sends.filter((s) => s.cluster === 7);
    const bytes = probe.reduce((sum, s) => sum + s.bytes, 0);
    expect(bytes).toBeGreaterThanOrEqual(15_000);
    const span = (probe.at(-1)?.ms ?? 0) - (probe[0]?.ms ?? 0);
    const rate = ((bytes - (probe.at(-1)?.bytes ?? 0)) * 8000) / span;
    expect(rate).toBeGreaterThan(6_000_000);
    expect(rate).toBeLessThan(10_000_000);
    pacer.close();
  });

  it('keeps a probe cluster near its rate when a busy event loop wakes the pacer late', () => {
    const inner = new SyncClock();
    // Every timer fires 3 ms late.
    const clock = {
      now: () => inner.now(),
      setTimeout: (callback: () => void, ms: number) => inner.setTimeout(callback, ms + 3),
      clearTimeout: (timer: unknown) => inner.clearTimeout(timer),
    };
    const sends: Array<{ ms: number; bytes: number }> = [];
    const pacer = new PacketPacer<number>({
      clock,
      sizeOf: (size) => size,
      send: () => {},
      sendPadding: (bytes) => {
        sends.push({ ms: inner.now(), bytes });
        return bytes;
      },
      rateBps: 1_000_000,
    });
    pacer.probe({ id: 1, bps: 20_000_000, bytes: 30_000, minPackets: 5 });
    inner.advanceTo(200);
    const bytes = sends.reduce((sum, s) => sum + s.bytes, 0);
    const span = (sends.at(-1)?.ms ?? 0) - (sends[0]?.ms ?? 0);
    const rate = ((bytes - (sends.at(-1)?.bytes ?? 0)) * 8000) / span;
    // Two packets a wake (every 4 ms) sent it at ~4.4 Mbit/s.
    expect(rate).toBeGreaterThan(14_000_000);
    expect(rate).toBeLessThan(24_000_000);
    pacer.close();
  });

  it('close drops what is queued and resolves waiting frames; idempotent', async () => {
    const clock = new SyncClock();
    const pacer = new PacketPacer<number>({ clock, sizeOf: (s) => s, send: () => {}, rateBps: 100_000 });
    const pending = pacer.enqueue(keyframe());
    pacer.close();
    pacer.close();
    await pending;
    expect(pacer.closed).toBe(true);
    expect(clock.pending).toBe(0);
    await pacer.enqueue([1]);
  });
});
