import { describe, expect, it } from 'vitest';
import { TransportWideCC } from 'werift';
import { readTransportFeedback } from '../../edge/media/congestion/readTransportFeedback.js';
import { SendHistory } from '../../edge/media/congestion/SendHistory.js';
import { simulateLink } from './helpers/simulateLink.js';

/** A transport-cc FCI as Chromium writes it (draft-holmer-rmcat-transport-wide-cc-extensions-01). */
function feedbackBytes(): Buffer {
  const words: number[] = [];
  const header = Buffer.alloc(16);
  header.writeUInt32BE(1, 0); // sender ssrc
  header.writeUInt32BE(2, 4); // media ssrc
  header.writeUInt16BE(65534, 8); // base sequence number: wraps after two packets
  header.writeUInt16BE(20, 10); // packet status count
  header.writeUIntBE(1000, 12, 3); // reference time 1000 × 64 ms
  header.writeUInt8(7, 15); // feedback packet count
  // Chunk 1: run length, 3 × received small delta.
  words.push((0 << 15) | (1 << 13) | 3);
  // Chunk 2: status vector, 1-bit symbols (14): 1 0 1 1 0 0 1 1 1 1 1 1 1 0
  words.push((1 << 15) | (0 << 14) | 0b10110011111110);
  // Chunk 3: status vector, 2-bit symbols (7): large, lost, small (and padding beyond the count).
  words.push((1 << 15) | (1 << 14) | (0b10 << 12) | (0b00 << 10) | (0b01 << 8));
  const chunks = Buffer.alloc(words.length * 2);
  for (const [i, word] of words.entries()) chunks.writeUInt16BE(word, i * 2);
  // Deltas (250 µs units): 3 small, then 10 small (vector 1), then 1 large (−2 ms), 1 small.
  const deltas: number[] = [4, 1, 2, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8];
  const small = Buffer.from(deltas);
  const large = Buffer.alloc(2);
  large.writeInt16BE(-8, 0);
  return Buffer.concat([header, chunks, small, large, Buffer.from([40])]);
}

describe('transport-cc feedback', () => {
  it('reads run-length and both status-vector chunk kinds, with µs arrivals and the 16-bit wrap', () => {
    const parsed = TransportWideCC.deSerialize(feedbackBytes(), undefined as never);
    const report = readTransportFeedback(parsed);
    expect(report.feedbackCount).toBe(7);
    expect(report.packets).toHaveLength(20);
    expect(report.packets.map((p) => p.seq).slice(0, 4)).toEqual([65534, 65535, 0, 1]);
    const received = report.packets.map((p) => (p.arrivalUs === undefined ? 0 : 1));
    expect(received).toEqual([1, 1, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1]);
    const base = 1000 * 64_000;
    expect(report.packets[0]?.arrivalUs).toBe(base + 1000);
    expect(report.packets[2]?.arrivalUs).toBe(base + 1000 + 250 + 500);
    // The large delta is negative (a packet that arrived before its predecessor's report time).
    const lateLarge = report.packets[17]?.arrivalUs ?? 0;
    const beforeLarge = report.packets[15]?.arrivalUs ?? 0;
    expect(lateLarge - beforeLarge).toBe(-2000);
    expect((report.packets[19]?.arrivalUs ?? 0) - lateLarge).toBe(10_000);
  });

  it('joins feedback with sends once per packet, across the wrap, and forgets old packets', () => {
    const history = new SendHistory({ maxAgeMs: 1000 });
    for (let i = 0; i < 6; i++) history.onPacketSent((65533 + i) & 0xffff, 1000 + i, i);
    const packets = [65534, 65535, 0, 1].map((seq, i) => ({
      seq,
      arrivalUs: i === 1 ? undefined : 50_000 + i,
    }));
    // 65535 is missing, not lost yet: it may only be late (jitter reorders packets).
    const results = history.onFeedback({ feedbackCount: 0, packets }, 10);
    expect(results.map((r) => r.seq)).toEqual([65534, 65536, 65537]);
    expect(results.map((r) => r.size)).toEqual([1001, 1003, 1004]);
    // Reported again: only the packet first reported missing that has now arrived comes back.
    const again = history.onFeedback(
      { feedbackCount: 1, packets: packets.map((p) => ({ ...p, arrivalUs: 60_000 })) },
      10,
    );
    expect(again.map((r) => [r.seq, r.arrivalTimeMs])).toEqual([[65535, 60]]);
    // Too old to matter.
    expect(history.onFeedback({ feedbackCount: 2, packets: [{ seq: 2, arrivalUs: 1 }] }, 5000)).toEqual([]);
  });

  it('reports a missing packet lost once one sent 100 ms after it has arrived, and only then', () => {
    const history = new SendHistory();
    for (let i = 0; i < 30; i++) history.onPacketSent(i, 1000, i * 10);
    const report = (seqs: number[], lost: number[]) => ({
      feedbackCount: 0,
      packets: seqs.map((seq) => ({
        seq,
        arrivalUs: lost.includes(seq) ? undefined : seq * 10_000 + 20_000,
      })),
    });
    const first = history.onFeedback(report([0, 1, 2, 3, 4, 5], [2]), 80);
    expect(first.filter((r) => r.arrivalTimeMs === undefined)).toEqual([]);
    // Packet 12 (sent 120 ms, 100 ms after packet 2) has arrived and 2 has not: now it is lost, once.
    const second = history.onFeedback(report([6, 7, 8, 9, 10, 11, 12], []), 160);
    expect(second.filter((r) => r.arrivalTimeMs === undefined).map((r) => r.seq)).toEqual([2]);
    const third = history.onFeedback(report([13, 14], []), 170);
    expect(third.filter((r) => r.arrivalTimeMs === undefined)).toEqual([]);
  });
});

const MBIT = 1_000_000;

function estimateAt(samples: ReturnType<typeof simulateLink>['samples'], ms: number): number {
  return samples.find((sample) => sample.ms >= ms)?.estimateBps ?? 0;
}

describe('send-side estimator on a simulated link', () => {
  it('ramps from 2 Mbit/s to most of a 20 Mbit/s link within 3 s (probing), without overflowing it', () => {
    const run = simulateLink({ durationMs: 6000, link: () => ({ capacityBps: 20 * MBIT, delayMs: 10 }) });
    expect(estimateAt(run.samples, 3000)).toBeGreaterThan(15 * MBIT);
    expect(Math.max(...run.samples.map((s) => s.estimateBps))).toBeLessThan(26 * MBIT);
  });

  it('backs off within a second when the link drops from 20 to 3 Mbit/s, and finds it again when it returns', () => {
    const run = simulateLink({
      durationMs: 22_000,
      link: (ms) => ({ capacityBps: ms >= 8000 && ms < 18_000 ? 3 * MBIT : 20 * MBIT, delayMs: 10 }),
    });
    expect(estimateAt(run.samples, 7900)).toBeGreaterThan(15 * MBIT);
    // The encoder sends 0.9 × the estimate: under the link's 3 Mbit/s within a second.
    expect(0.9 * estimateAt(run.samples, 9000)).toBeLessThan(3 * MBIT);
    for (const sample of run.samples.filter((s) => s.ms >= 9000 && s.ms < 18_000)) {
      expect(sample.estimateBps).toBeLessThan(4 * MBIT);
      // Quality drops, the stream does not: never under a third of the link.
      expect(sample.estimateBps).toBeGreaterThan(1 * MBIT);
    }
    // Recovery probes find the restored link: ≥ 80 % of it within 3 s.
    expect(estimateAt(run.samples, 21_000)).toBeGreaterThan(16 * MBIT);
  });

  it('does not let 2 % random loss drag the rate down', () => {
    const run = simulateLink({
      durationMs: 10_000,
      link: () => ({ capacityBps: 20 * MBIT, delayMs: 15, loss: 0.02 }),
    });
    for (const sample of run.samples.filter((s) => s.ms >= 3000)) {
      expect(sample.estimateBps).toBeGreaterThan(12 * MBIT);
    }
  });

  it('does not pin the estimate to what an application-limited sender sends under a few % of random loss', () => {
    // The encoder sends 7 Mbit/s (short of CPU) of a 20 Mbit/s link that loses 4 %: a sample over 10 %
    // cuts from the estimate, not from the sent rate (that took the estimate to 6.6 Mbit/s and kept it
    // there), since the path delivers all but the loss of what is sent.
    const run = simulateLink({
      durationMs: 12_000,
      link: () => ({ capacityBps: 20 * MBIT, delayMs: 15, loss: 0.04 }),
      demandBps: () => 7 * MBIT,
      estimator: { startBps: 6 * MBIT, maxBps: 20 * MBIT },
    });
    for (const sample of run.samples.filter((s) => s.ms >= 4000)) {
      expect(sample.estimateBps).toBeGreaterThan(12 * MBIT);
    }
  });

  it('does not read 10 ms of jitter as congestion', () => {
    const run = simulateLink({
      durationMs: 10_000,
      link: () => ({ capacityBps: 20 * MBIT, delayMs: 30, jitterMs: 10 }),
    });
    for (const sample of run.samples.filter((s) => s.ms >= 3000)) {
      expect(sample.estimateBps).toBeGreaterThan(12 * MBIT);
    }
  });

  it('does not take packets reordered by jitter for lost ones (a late packet is reported again)', () => {
    const run = simulateLink({
      durationMs: 10_000,
      link: () => ({ capacityBps: 20 * MBIT, delayMs: 30, jitterMs: 10, reorder: true }),
    });
    for (const sample of run.samples.filter((s) => s.ms >= 3000)) {
      expect(sample.reason).not.toBe('loss');
      expect(sample.estimateBps).toBeGreaterThan(12 * MBIT);
    }
  });

  it("does not count padding the receiver drops (as Chromium's SRTP replay check does) as loss", () => {
    const run = simulateLink({
      durationMs: 10_000,
      link: () => ({ capacityBps: 20 * MBIT, delayMs: 15, dropPadding: true }),
      demandBps: () => 2 * MBIT,
    });
    expect(run.samples.filter((s) => s.reason === 'loss')).toEqual([]);
  });

  it('finds a restored link while application-limited (ALR probes), e.g. an encoder short of CPU', () => {
    const run = simulateLink({
      durationMs: 24_000,
      link: (ms) => ({ capacityBps: ms < 12_000 ? 3 * MBIT : 20 * MBIT, delayMs: 10 }),
      // The encoder never makes more than 1.2 Mbit/s: under the estimate all along.
      demandBps: () => 1.2 * MBIT,
      estimator: { startBps: 6 * MBIT },
    });
    expect(estimateAt(run.samples, 11_900)).toBeLessThan(5 * MBIT);
    expect(run.samples.filter((s) => s.ms >= 4000).every((s) => s.appLimited)).toBe(true);
    expect(estimateAt(run.samples, 23_900)).toBeGreaterThan(8 * MBIT);
  });

  it('holds the estimate through a static scene instead of collapsing to what it sends', () => {
    const run = simulateLink({
      durationMs: 16_000,
      link: () => ({ capacityBps: 20 * MBIT, delayMs: 10 }),
      demandBps: (ms) => (ms >= 6000 ? 200_000 : Number.POSITIVE_INFINITY),
    });
    const before = estimateAt(run.samples, 5900);
    expect(before).toBeGreaterThan(15 * MBIT);
    const still = run.samples.filter((s) => s.ms >= 8000);
    expect(still.every((s) => s.appLimited)).toBe(true);
    for (const sample of still) expect(sample.estimateBps).toBeGreaterThan(0.8 * before);
  });
});
