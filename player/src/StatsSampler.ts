import { emptyStats, type StreamStats } from './hookTypes.js';

interface Totals {
  at: number;
  bytes: number;
  framesDecoded: number;
  decodeTime: number;
  packetsLost: number;
  packetsReceived: number;
  jitterBufferDelay: number;
  jitterBufferEmitted: number;
}

type Report = Record<string, unknown> & { type: string; id: string };

const num = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

/**
 * Turns successive `RTCPeerConnection.getStats()` reports into per-interval figures for the overlay.
 * Call `sample()` about once a second.
 */
export class StatsSampler {
  readonly #pc: RTCPeerConnection;
  #previous: Totals | undefined;
  #stats: StreamStats = emptyStats();

  constructor(pc: RTCPeerConnection) {
    this.#pc = pc;
  }

  /** The latest figures. */
  get stats(): StreamStats {
    return this.#stats;
  }

  /** Reads getStats once and updates `stats`. */
  async sample(extra: { inputRttMs?: number; glassToGlassMs?: number } = {}): Promise<StreamStats> {
    const report = await this.#pc.getStats();
    const reports = new Map<string, Report>();
    report.forEach((value: Report) => {
      reports.set(value.id, value);
    });
    const totals: Totals = {
      at: performance.now(),
      bytes: 0,
      framesDecoded: 0,
      decodeTime: 0,
      packetsLost: 0,
      packetsReceived: 0,
      jitterBufferDelay: 0,
      jitterBufferEmitted: 0,
    };
    const next = emptyStats();
    for (const entry of reports.values()) {
      if (entry.type === 'inbound-rtp') {
        totals.bytes += num(entry.bytesReceived);
        if (entry.kind !== 'video') continue;
        totals.framesDecoded += num(entry.framesDecoded);
        totals.decodeTime += num(entry.totalDecodeTime);
        totals.packetsLost += Math.max(0, num(entry.packetsLost));
        totals.packetsReceived += num(entry.packetsReceived);
        totals.jitterBufferDelay += num(entry.jitterBufferDelay);
        totals.jitterBufferEmitted += num(entry.jitterBufferEmittedCount);
        next.framesDecoded += num(entry.framesDecoded);
        next.framesDropped += num(entry.framesDropped);
        next.freezeCount += num(entry.freezeCount);
        if (typeof entry.frameWidth === 'number') next.width = entry.frameWidth;
        if (typeof entry.frameHeight === 'number') next.height = entry.frameHeight;
        const codec = typeof entry.codecId === 'string' ? reports.get(entry.codecId) : undefined;
        if (codec !== undefined && typeof codec.mimeType === 'string') next.codec = codec.mimeType;
      } else if (entry.type === 'candidate-pair' && entry.nominated === true && entry.state === 'succeeded') {
        if (typeof entry.currentRoundTripTime === 'number') next.rttMs = entry.currentRoundTripTime * 1000;
      }
    }
    const previous = this.#previous;
    if (previous !== undefined) {
      const seconds = (totals.at - previous.at) / 1000;
      if (seconds > 0) {
        const frames = totals.framesDecoded - previous.framesDecoded;
        next.fps = frames / seconds;
        next.bitrateKbps = ((totals.bytes - previous.bytes) * 8) / 1000 / seconds;
        if (frames > 0) next.decodeMs = ((totals.decodeTime - previous.decodeTime) * 1000) / frames;
        const lost = totals.packetsLost - previous.packetsLost;
        const received = totals.packetsReceived - previous.packetsReceived;
        if (lost + received > 0) next.packetLossPct = (100 * Math.max(0, lost)) / (lost + received);
        const emitted = totals.jitterBufferEmitted - previous.jitterBufferEmitted;
        if (emitted > 0) {
          next.jitterBufferMs = ((totals.jitterBufferDelay - previous.jitterBufferDelay) * 1000) / emitted;
        }
      }
    }
    if (extra.inputRttMs !== undefined) next.inputRttMs = extra.inputRttMs;
    if (extra.glassToGlassMs !== undefined) next.glassToGlassMs = extra.glassToGlassMs;
    this.#previous = totals;
    this.#stats = next;
    return next;
  }
}
