import type { PacketResult } from './PacketResult.js';
import type { TransportFeedbackReport } from './readTransportFeedback.js';

export interface SendHistoryOptions {
  /** Packets older than this are forgotten even if no feedback named them (default 2000 ms). */
  maxAgeMs?: number;
  /** Ring size, a power of two (default 8192 packets: 2 s at ~50 Mbit/s). */
  capacity?: number;
}

/**
 * Sent packets by transport-wide sequence number, joined with feedback as it arrives. Bounded: a fixed
 * ring indexed by the unwrapped sequence number, entries expire by age, and each packet is reported
 * once (werift's own history keys a plain object by the 16-bit number and never deletes from it).
 */
export class SendHistory {
  readonly #maxAgeMs: number;
  readonly #mask: number;
  readonly #seq: Float64Array;
  readonly #sendTime: Float64Array;
  readonly #size: Uint32Array;
  readonly #cluster: Int32Array;
  readonly #reported: Uint8Array;
  /** Last unwrapped sequence number sent, -1 before the first. */
  #lastSeq = -1;
  /** Last unwrapped sequence number that feedback covered, -1 before the first. */
  #lastFeedbackSeq = -1;

  constructor(options: SendHistoryOptions = {}) {
    const capacity = options.capacity ?? 8192;
    if (capacity & (capacity - 1)) throw new RangeError('capacity must be a power of two');
    this.#maxAgeMs = options.maxAgeMs ?? 2000;
    this.#mask = capacity - 1;
    this.#seq = new Float64Array(capacity).fill(-1);
    this.#sendTime = new Float64Array(capacity);
    this.#size = new Uint32Array(capacity);
    this.#cluster = new Int32Array(capacity);
    this.#reported = new Uint8Array(capacity);
  }

  /** Records packet `seq16` (the 16-bit number on the wire); returns its unwrapped number. */
  onPacketSent(seq16: number, size: number, sendTimeMs: number, probeClusterId = -1): number {
    const seq = this.#unwrap(seq16, this.#lastSeq);
    if (seq > this.#lastSeq) this.#lastSeq = seq;
    const slot = seq & this.#mask;
    this.#seq[slot] = seq;
    this.#sendTime[slot] = sendTimeMs;
    this.#size[slot] = size;
    this.#cluster[slot] = probeClusterId;
    this.#reported[slot] = 0;
    return seq;
  }

  /**
   * Joins a feedback report with the send history: one result per packet the report names that is
   * still remembered (younger than `maxAgeMs` at `nowMs`) and not reported before, in sequence order.
   */
  onFeedback(report: TransportFeedbackReport, nowMs: number): PacketResult[] {
    const results: PacketResult[] = [];
    const reference = this.#lastFeedbackSeq >= 0 ? this.#lastFeedbackSeq : this.#lastSeq;
    for (const packet of report.packets) {
      const seq = this.#unwrap(packet.seq, reference);
      if (seq > this.#lastSeq) continue; // never sent (garbage or a stale report from before a wrap)
      const slot = seq & this.#mask;
      if (this.#seq[slot] !== seq) continue;
      const sendTimeMs = this.#sendTime[slot] ?? 0;
      if (nowMs - sendTimeMs > this.#maxAgeMs) continue;
      // A packet first reported lost may be reported received later (feedback for a late packet).
      if (this.#reported[slot] && (packet.arrivalUs === undefined || this.#reported[slot] === 2)) continue;
      this.#reported[slot] = packet.arrivalUs === undefined ? 1 : 2;
      if (seq > this.#lastFeedbackSeq) this.#lastFeedbackSeq = seq;
      results.push({
        seq,
        sendTimeMs,
        size: this.#size[slot] ?? 0,
        probeClusterId: this.#cluster[slot] ?? -1,
        arrivalTimeMs: packet.arrivalUs === undefined ? undefined : packet.arrivalUs / 1000,
      });
    }
    results.sort((a, b) => a.seq - b.seq);
    return results;
  }

  /** The unwrapped number closest to `reference` whose low 16 bits are `seq16`. */
  #unwrap(seq16: number, reference: number): number {
    if (reference < 0) return seq16 & 0xffff;
    const base = reference - (reference & 0xffff);
    let seq = base + (seq16 & 0xffff);
    if (seq - reference > 0x8000) seq -= 0x10000;
    else if (reference - seq > 0x8000) seq += 0x10000;
    return seq;
  }
}
