import type { QosPeriodFigures } from '../../protocol/PeriodicQosReporter.js';

interface Totals {
  bytes: number;
  framesDecoded: number;
  framesDropped: number;
  freezeCount: number;
  freezeSeconds: number;
  packetsLost: number;
  packetsReceived: number;
  jitterBufferDelay: number;
  jitterBufferEmitted: number;
}

type Report = Record<string, unknown> & { type: string; id: string };

const num = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
const u32 = (value: number): number => Math.max(0, Math.min(0xffff_ffff, Math.round(value)));

/** Nearest-rank percentile of sorted `values` (0 when empty). */
function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
}

/**
 * The page's side of one period's QoS report, from `getStats()` counters (differences since the last `take()`)
 * and the frame stamps' glass-to-glass samples: frames decoded and dropped, freezes (count, time), jitter,
 * jitter-buffer delay, RTT (the nominated candidate pair), loss and bitrate. What the session key signs.
 */
export class PeriodStats {
  readonly #pc: RTCPeerConnection;
  #previous: Totals | undefined;
  #startedAt = performance.now();
  #glass: number[] = [];

  constructor(pc: RTCPeerConnection) {
    this.#pc = pc;
  }

  /** One glass-to-glass sample (ms) of a frame shown in this period. */
  recordGlass(ms: number): void {
    if (this.#glass.length < 20_000 && Number.isFinite(ms) && ms >= 0) this.#glass.push(ms);
  }

  /** Starts the first period now (counters so far are set-up, not play). */
  async begin(): Promise<void> {
    this.#previous = (await this.#read()).totals;
    this.#startedAt = performance.now();
    this.#glass = [];
  }

  async #read(): Promise<{ totals: Totals; rttMs: number; jitterMs: number }> {
    const report = await this.#pc.getStats();
    const totals: Totals = {
      bytes: 0,
      framesDecoded: 0,
      framesDropped: 0,
      freezeCount: 0,
      freezeSeconds: 0,
      packetsLost: 0,
      packetsReceived: 0,
      jitterBufferDelay: 0,
      jitterBufferEmitted: 0,
    };
    let rttMs = 0;
    let jitterMs = 0;
    report.forEach((entry: Report) => {
      if (entry.type === 'inbound-rtp' && entry.kind === 'video') {
        totals.bytes += num(entry.bytesReceived);
        totals.framesDecoded += num(entry.framesDecoded);
        totals.framesDropped += num(entry.framesDropped);
        totals.freezeCount += num(entry.freezeCount);
        totals.freezeSeconds += num(entry.totalFreezesDuration);
        totals.packetsLost += Math.max(0, num(entry.packetsLost));
        totals.packetsReceived += num(entry.packetsReceived);
        totals.jitterBufferDelay += num(entry.jitterBufferDelay);
        totals.jitterBufferEmitted += num(entry.jitterBufferEmittedCount);
        jitterMs = Math.max(jitterMs, num(entry.jitter) * 1000);
      } else if (entry.type === 'candidate-pair' && entry.nominated === true && entry.state === 'succeeded') {
        rttMs = Math.max(rttMs, num(entry.currentRoundTripTime) * 1000);
      }
    });
    return { totals, rttMs, jitterMs };
  }

  /** The figures of the period since the last call (or `begin()`), and starts the next one. */
  async take(): Promise<QosPeriodFigures> {
    const { totals, rttMs, jitterMs } = await this.#read();
    const prev = this.#previous ?? totals;
    const now = performance.now();
    const seconds = Math.max(0.001, (now - this.#startedAt) / 1000);
    const lost = Math.max(0, totals.packetsLost - prev.packetsLost);
    const received = Math.max(0, totals.packetsReceived - prev.packetsReceived);
    const emitted = totals.jitterBufferEmitted - prev.jitterBufferEmitted;
    const glass = this.#glass.sort((a, b) => a - b);
    const figures: QosPeriodFigures = {
      metrics: {
        frames: u32(totals.framesDecoded - prev.framesDecoded),
        bitrateKbps: u32(((totals.bytes - prev.bytes) * 8) / 1000 / seconds),
        encodeTimeUs: 0,
        rttMs: u32(rttMs),
        jitterMs: u32(jitterMs),
        lossPpm: lost + received > 0 ? u32((1_000_000 * lost) / (lost + received)) : 0,
        freezeMs: u32((totals.freezeSeconds - prev.freezeSeconds) * 1000),
      },
      detail: {
        framesDropped: u32(totals.framesDropped - prev.framesDropped),
        freezeCount: u32(totals.freezeCount - prev.freezeCount),
        jitterBufferMs:
          emitted > 0 ? u32(((totals.jitterBufferDelay - prev.jitterBufferDelay) * 1000) / emitted) : 0,
        glassP50Ms: u32(percentile(glass, 0.5)),
        glassP99Ms: u32(percentile(glass, 0.99)),
        glassSamples: u32(glass.length),
      },
    };
    this.#previous = totals;
    this.#startedAt = now;
    this.#glass = [];
    return figures;
  }
}
