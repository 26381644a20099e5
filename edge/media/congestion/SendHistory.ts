import type { PacketResult } from './PacketResult.js';
import type { TransportFeedbackReport } from './readTransportFeedback.js';

export interface SendHistoryOptions {
  /** Packets older than this are forgotten even if no feedback named them (default 2000 ms). */
  maxAgeMs?: number;
  /** Ring size, a power of two (default 8192 packets: 2 s at ~50 Mbit/s). */
  capacity?: number;
  /**
   * A packet reported not received is counted lost only once feedback has acknowledged a packet sent this
   * much later and it still has not arrived (default 100 ms): jitter reorders packets, and the receiver
   * reports a gap as not received before the late packet arrives and is reported again.
   */
  reorderMs?: number;
}

/** Per-slot state: nothing reported, reported missing (not yet judged), received, counted lost. */
const NONE = 0;
const MISSING = 1;
const RECEIVED = 2;
const LOST = 3;

/**
 * Sent packets by transport-wide sequence number, joined with feedback as it arrives. Bounded: a fixed
 * ring indexed by the unwrapped sequence number, entries expire by age, and each packet is reported
 * received once (werift's own history keys a plain object by the 16-bit number and never deletes from
 * it). A packet reported missing is reported lost only after `reorderMs` (see there).
 */
export class SendHistory {
  readonly #maxAgeMs: number;
  readonly #reorderMs: number;
  /** Unwrapped numbers reported missing and not judged yet, in order. */
  readonly #missing: number[] = [];
  readonly #mask: number;
  readonly #seq: Float64Array;
  readonly #sendTime: Float64Array;
  readonly #size: Uint32Array;
  readonly #cluster: Int32Array;
  readonly #padding: Uint8Array;
  readonly #reported: Uint8Array;
  /** Last unwrapped sequence number sent, -1 before the first. */
  #lastSeq = -1;
  /** Last unwrapped sequence number that feedback covered, -1 before the first. */
  #lastFeedbackSeq = -1;

  constructor(options: SendHistoryOptions = {}) {
    const capacity = options.capacity ?? 8192;
    if (capacity & (capacity - 1)) throw new RangeError('capacity must be a power of two');
    this.#maxAgeMs = options.maxAgeMs ?? 2000;
    this.#reorderMs = options.reorderMs ?? 100;
    this.#mask = capacity - 1;
    this.#seq = new Float64Array(capacity).fill(-1);
    this.#sendTime = new Float64Array(capacity);
    this.#size = new Uint32Array(capacity);
    this.#cluster = new Int32Array(capacity);
    this.#reported = new Uint8Array(capacity);
    this.#padding = new Uint8Array(capacity);
  }

  /** Records packet `seq16` (the 16-bit number on the wire); returns its unwrapped number. */
  onPacketSent(
    seq16: number,
    size: number,
    sendTimeMs: number,
    probeClusterId = -1,
    padding = false,
  ): number {
    const seq = this.#unwrap(seq16, this.#lastSeq);
    if (seq > this.#lastSeq) this.#lastSeq = seq;
    const slot = seq & this.#mask;
    this.#seq[slot] = seq;
    this.#sendTime[slot] = sendTimeMs;
    this.#size[slot] = size;
    this.#cluster[slot] = probeClusterId;
    this.#reported[slot] = NONE;
    this.#padding[slot] = padding ? 1 : 0;
    return seq;
  }

  /**
   * Joins a feedback report with the send history: one result per packet the report names received that
   * is still remembered (younger than `maxAgeMs` at `nowMs`) and not reported before, plus one per packet
   * reported missing earlier that is now judged lost, in sequence order.
   */
  onFeedback(report: TransportFeedbackReport, nowMs: number): PacketResult[] {
    const results: PacketResult[] = [];
    let newestAckedSendMs = Number.NEGATIVE_INFINITY;
    const reference = this.#lastFeedbackSeq >= 0 ? this.#lastFeedbackSeq : this.#lastSeq;
    for (const packet of report.packets) {
      const seq = this.#unwrap(packet.seq, reference);
      if (seq > this.#lastSeq) continue; // never sent (garbage or a stale report from before a wrap)
      const slot = seq & this.#mask;
      if (this.#seq[slot] !== seq) continue;
      const sendTimeMs = this.#sendTime[slot] ?? 0;
      if (nowMs - sendTimeMs > this.#maxAgeMs) continue;
      if (seq > this.#lastFeedbackSeq) this.#lastFeedbackSeq = seq;
      const state = this.#reported[slot];
      if (packet.arrivalUs === undefined) {
        if (state !== NONE) continue;
        this.#reported[slot] = MISSING;
        this.#missing.push(seq);
        continue;
      }
      // A packet first reported missing may be reported received later (feedback for a late packet).
      if (state === RECEIVED) continue;
      this.#reported[slot] = RECEIVED;
      if (sendTimeMs > newestAckedSendMs) newestAckedSendMs = sendTimeMs;
      results.push(this.#result(seq, slot, packet.arrivalUs / 1000));
    }
    this.#judgeMissing(newestAckedSendMs, nowMs, results);
    results.sort((a, b) => a.seq - b.seq);
    return results;
  }

  /** Reports as lost the missing packets sent `reorderMs` before one that has arrived. */
  #judgeMissing(newestAckedSendMs: number, nowMs: number, results: PacketResult[]): void {
    const missing = this.#missing;
    let judged = 0;
    for (; judged < missing.length; judged++) {
      const seq = missing[judged] ?? 0;
      const slot = seq & this.#mask;
      if (this.#seq[slot] !== seq || this.#reported[slot] !== MISSING) continue; // overwritten or arrived
      const sendTimeMs = this.#sendTime[slot] ?? 0;
      const expired = nowMs - sendTimeMs > this.#maxAgeMs;
      if (!expired && sendTimeMs > newestAckedSendMs - this.#reorderMs) break;
      this.#reported[slot] = LOST;
      if (!expired) results.push(this.#result(seq, slot, undefined));
    }
    if (judged > 0) missing.splice(0, judged);
  }

  #result(seq: number, slot: number, arrivalTimeMs: number | undefined): PacketResult {
    return {
      seq,
      sendTimeMs: this.#sendTime[slot] ?? 0,
      size: this.#size[slot] ?? 0,
      probeClusterId: this.#cluster[slot] ?? -1,
      padding: this.#padding[slot] === 1,
      arrivalTimeMs,
    };
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
