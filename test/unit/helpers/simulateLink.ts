import { PacketPacer } from '../../../edge/media/congestion/PacketPacer.js';
import {
  SendSideEstimator,
  type SendSideEstimatorOptions,
} from '../../../edge/media/congestion/SendSideEstimator.js';
import { SyncClock } from './SyncClock.js';

/** The link at a moment: capacity, one-way delay, jitter, random loss. */
export interface LinkState {
  capacityBps: number;
  delayMs: number;
  jitterMs?: number;
  loss?: number;
  /** Jitter may reorder packets (like netlab's per-packet delay), default false. */
  reorder?: boolean;
  /** The receiver drops padding (re-sent copies), as Chromium's SRTP replay check does; default false. */
  dropPadding?: boolean;
}

export interface SimulationOptions {
  durationMs: number;
  /** The link over time. */
  link: (nowMs: number) => LinkState;
  /** What the scene would use at most, bps (the encoder sends min(this, target)). */
  demandBps?: (nowMs: number) => number;
  estimator?: SendSideEstimatorOptions;
  /** Bottleneck queue, ms at the current capacity (default 50, like the netlab's tbf). */
  queueMs?: number;
  /**
   * Token bucket of the bottleneck, bytes (default 0): after a quiet spell this much passes at once, as
   * through netlab's tbf (16 kB burst) or a policer, so a short probe can get through a slower link whole.
   */
  burstBytes?: number;
  feedbackIntervalMs?: number;
  seed?: number;
}

export interface SimulationSample {
  ms: number;
  estimateBps: number;
  /** Bytes the bottleneck delivered in the last 100 ms, as bps. */
  deliveredBps: number;
  reason: string;
  appLimited: boolean;
}

export interface SimulationResult {
  samples: SimulationSample[];
  dropped: number;
  /** When media packets (not probe padding) were dropped at the bottleneck, ms. */
  mediaDropTimes: number[];
  sent: number;
  /** Largest queueing delay at the bottleneck, ms. */
  maxQueueDelayMs: number;
}

interface Packet {
  size: number;
  seq: number;
}

/**
 * A sender (frames at 60 fps sized to 0.9 × the estimate, paced by `PacketPacer`) and a receiver
 * sending transport-cc feedback, joined by a bottleneck with a tail-drop queue, delay, jitter (reordering
 * when the link says so) and random loss. Like Chromium's, the receiver reports a gap as not received
 * and reports a late packet again once it arrives. Deterministic for a seed; no real time passes.
 */
export function simulateLink(options: SimulationOptions): SimulationResult {
  const clock = new SyncClock();
  let state = 0x9e3779b9 ^ (options.seed ?? 1);
  const random = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
  const estimator = new SendSideEstimator(options.estimator);
  const queueMs = options.queueMs ?? 50;
  const feedbackInterval = options.feedbackIntervalMs ?? 50;
  let seq = 0;
  /** When the bottleneck has sent everything accepted so far, ignoring the bucket (GCRA's TAT). */
  let linkFreeAt = 0;
  const burstBytes = options.burstBytes ?? 0;
  let lastArrival = 0;
  let dropped = 0;
  /** When media packets (not padding) were dropped. */
  const dropTimes: number[] = [];
  let sent = 0;
  let maxQueueDelayMs = 0;
  const arrivals = new Map<number, number>();
  /** Numbers reported not received (a late arrival rewinds the next feedback to it). */
  const missing = new Set<number>();
  const delivered: Array<{ ms: number; size: number }> = [];
  const feedbacks: Array<{
    at: number;
    build: () => Parameters<SendSideEstimator['onTransportFeedback']>[0];
  }> = [];

  const transmit = (size: number, clusterId: number, padding: boolean): void => {
    const now = clock.now();
    const number = seq;
    seq = (seq + 1) & 0xffff;
    sent++;
    // Forget the number half the sequence space away (reports never reach that far back).
    arrivals.delete((number + 0x8000) & 0xffff);
    missing.delete((number + 0x8000) & 0xffff);
    estimator.onPacketSent(number, size, now, clusterId, padding);
    const link = options.link(now);
    const burstMs = (burstBytes * 8000) / link.capacityBps;
    const queueDelay = Math.max(0, linkFreeAt - burstMs - now);
    maxQueueDelayMs = Math.max(maxQueueDelayMs, queueDelay);
    if (queueDelay > queueMs) {
      dropped++;
      if (!padding) dropTimes.push(now);
      return;
    }
    linkFreeAt = Math.max(now, linkFreeAt) + (size * 8000) / link.capacityBps;
    const departure = Math.max(now, linkFreeAt - burstMs);
    if (padding && link.dropPadding) return;
    if (random() < (link.loss ?? 0)) return;
    const jitter = (link.jitterMs ?? 0) * (random() * 2 - 1);
    const arrival = link.reorder
      ? departure + link.delayMs + jitter
      : Math.max(lastArrival, departure + link.delayMs + jitter);
    lastArrival = Math.max(lastArrival, arrival);
    arrivals.set(number, arrival);
    delivered.push({ ms: departure, size });
  };

  const pacer = new PacketPacer<Packet>({
    clock,
    sizeOf: (packet) => packet.size,
    send: (packet, clusterId) => transmit(packet.size, clusterId, false),
    sendPadding: (bytes, clusterId) => {
      transmit(bytes, clusterId, true);
      return bytes;
    },
  });

  // Receiver: every interval, one feedback covering every number since the last one.
  let nextBase = 0;
  const sendFeedback = (): void => {
    const now = clock.now();
    const highest = (seq - 1) & 0xffff;
    for (const number of missing) {
      const arrival = arrivals.get(number);
      if (arrival === undefined || arrival > now) continue;
      if (((nextBase - number) & 0xffff) < 0x8000) nextBase = number;
    }
    // Only numbers whose fate the receiver can know: those that should have arrived by now.
    const count = (highest - nextBase + 1 + 0x10000) & 0xffff;
    let known = 0;
    for (let i = 0; i < count; i++) {
      const arrival = arrivals.get((nextBase + i) & 0xffff);
      if (arrival !== undefined && arrival <= now) known = i + 1;
    }
    if (known === 0) return;
    const base = nextBase;
    const statuses: number[] = [];
    const times: number[] = [];
    for (let i = 0; i < known; i++) {
      const number = (base + i) & 0xffff;
      const arrival = arrivals.get(number);
      const received = arrival !== undefined && arrival <= now;
      statuses.push(received ? 1 : 0);
      if (received) {
        times.push(arrival);
        missing.delete(number);
      } else missing.add(number);
    }
    nextBase = (base + known) & 0xffff;
    const referenceMs = Math.floor((times[0] ?? now) / 64) * 64;
    let previousUs = referenceMs * 1000;
    const recvDeltas = times.map((ms) => {
      const us = Math.round((ms * 1000) / 250) * 250;
      const delta = us - previousUs;
      previousUs = us;
      return { delta };
    });
    const feedback = {
      baseSequenceNumber: base,
      packetStatusCount: known,
      referenceTime: referenceMs / 64,
      fbPktCount: 0,
      packetChunks: statuses.map((status) => ({ symbolSize: 1, symbolList: [status] })),
      recvDeltas,
    };
    const back = options.link(now).delayMs;
    feedbacks.push({ at: now + back, build: () => feedback });
  };

  const samples: SimulationSample[] = [];
  for (let ms = 0; ms <= options.durationMs; ms++) {
    clock.advanceTo(ms);
    const link = options.link(ms);
    estimator.setRtt(2 * link.delayMs);
    for (let i = feedbacks.length - 1; i >= 0; i--) {
      const feedback = feedbacks[i];
      if (feedback && feedback.at <= ms) {
        feedbacks.splice(i, 1);
        estimator.onTransportFeedback(feedback.build(), ms);
      }
    }
    for (const cluster of estimator.process(ms)) pacer.probe(cluster);
    pacer.setRate(1.5 * estimator.bps);
    if (ms % feedbackInterval === 0) sendFeedback();
    // 60 fps: a frame every 16.67 ms.
    if (Math.floor((ms * 60) / 1000) !== Math.floor(((ms - 1) * 60) / 1000)) {
      const demand = options.demandBps?.(ms) ?? Number.POSITIVE_INFINITY;
      const target = Math.min(demand, 0.9 * estimator.bps);
      let bytes = Math.round(target / 60 / 8);
      const packets: Packet[] = [];
      while (bytes > 0) {
        const size = Math.min(1200, bytes);
        packets.push({ size, seq: 0 });
        bytes -= size;
      }
      void pacer.enqueue(packets);
    }
    if (ms % 100 === 0) {
      while (delivered.length > 0 && (delivered[0]?.ms ?? ms) < ms - 100) delivered.shift();
      const bytes = delivered.reduce((sum, entry) => sum + entry.size, 0);
      const snapshot = estimator.snapshot;
      samples.push({
        ms,
        estimateBps: estimator.bps,
        deliveredBps: bytes * 80,
        reason: snapshot.reason,
        appLimited: snapshot.appLimited,
      });
    }
  }
  pacer.close();
  return { samples, dropped, mediaDropTimes: dropTimes, sent, maxQueueDelayMs };
}
