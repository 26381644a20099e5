/** Where the feedback goes: werift's DTLS transport (`sendRtcp` serializes each packet). */
export interface RtcpSink {
  sendRtcp(packets: Array<{ serialize(): Buffer }>): Promise<unknown>;
}

export interface TransportFeedbackSenderOptions {
  sink: RtcpSink;
  /** Our RTCP sender SSRC. */
  senderSsrc: number;
  /** Every this many ms (default 50, as Chromium at moderate rates). */
  intervalMs?: number;
}

/** Most packets one feedback covers. */
const MAX_STATUS = 1000;

/**
 * Transport-wide congestion control feedback (RTCP RTPFB FMT 15,
 * draft-holmer-rmcat-transport-wide-cc-extensions-01) for the headless player, written the way browsers
 * do: every `intervalMs`, the packets received since the last message by transport-wide sequence
 * number, missing ones marked lost, arrival deltas in 250 µs units. werift's own receiver writes
 * messages its parser (and the edge) cannot read, so StreamReceiver sends these instead.
 */
export class TransportFeedbackSender {
  readonly #sink: RtcpSink;
  readonly #senderSsrc: number;
  readonly #timer: NodeJS.Timeout;
  /** Unwrapped sequence number → arrival µs, not yet reported. */
  readonly #pending = new Map<number, number>();
  #mediaSsrc = 0;
  #lastSeq = -1;
  /** Next sequence number to report (everything before it was reported). */
  #nextSeq = -1;
  #count = 0;
  #closed = false;

  constructor(options: TransportFeedbackSenderOptions) {
    this.#sink = options.sink;
    this.#senderSsrc = options.senderSsrc;
    this.#timer = setInterval(() => this.flush(), options.intervalMs ?? 50);
  }

  /** One received packet: its 16-bit transport-wide sequence number, media SSRC and arrival (ms). */
  onPacket(seq16: number, mediaSsrc: number, arrivalMs: number): void {
    if (this.#closed) return;
    this.#mediaSsrc = mediaSsrc;
    let seq = seq16;
    if (this.#lastSeq >= 0) {
      seq = this.#lastSeq - (this.#lastSeq & 0xffff) + seq16;
      if (seq - this.#lastSeq > 0x8000) seq -= 0x10000;
      else if (this.#lastSeq - seq > 0x8000) seq += 0x10000;
    }
    if (this.#nextSeq < 0) this.#nextSeq = seq;
    if (seq < this.#nextSeq) return; // already reported (late or duplicate)
    if (seq > this.#lastSeq) this.#lastSeq = seq;
    if (!this.#pending.has(seq)) this.#pending.set(seq, Math.round(arrivalMs * 1000));
  }

  /** Sends what was received since the last message (nothing when nothing arrived). */
  flush(): void {
    if (this.#closed || this.#pending.size === 0) return;
    const base = this.#nextSeq;
    const end = Math.min(this.#lastSeq, base + MAX_STATUS - 1);
    const statuses: number[] = [];
    const deltas: number[] = [];
    let reference = -1;
    let previousUs = 0;
    for (let seq = base; seq <= end; seq++) {
      const arrival = this.#pending.get(seq);
      this.#pending.delete(seq);
      if (arrival === undefined) {
        statuses.push(0);
        continue;
      }
      if (reference < 0) {
        reference = Math.floor(arrival / 64_000);
        previousUs = reference * 64_000;
      }
      const delta = Math.max(-32_768, Math.min(32_767, Math.round((arrival - previousUs) / 250)));
      previousUs += delta * 250;
      statuses.push(delta >= 0 && delta <= 255 ? 1 : 2);
      deltas.push(delta);
    }
    this.#nextSeq = end + 1;
    if (reference < 0) return;
    this.#send(base, statuses, deltas, reference);
  }

  /** Stops; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#pending.clear();
  }

  #send(base: number, statuses: number[], deltas: number[], reference: number): void {
    const chunks: number[] = [];
    // Status vector chunks with 2-bit symbols, 7 per chunk.
    for (let i = 0; i < statuses.length; i += 7) {
      let chunk = 0b11 << 14;
      for (let j = 0; j < 7; j++) chunk |= (statuses[i + j] ?? 0) << (12 - 2 * j);
      chunks.push(chunk);
    }
    const deltaBytes = deltas.reduce((sum, d) => sum + (d >= 0 && d <= 255 ? 1 : 2), 0);
    const fciLength = 8 + chunks.length * 2 + deltaBytes;
    const length = 12 + Math.ceil(fciLength / 4) * 4;
    const buf = Buffer.alloc(length);
    buf.writeUInt8(0x80 | 15, 0);
    buf.writeUInt8(205, 1);
    buf.writeUInt16BE(length / 4 - 1, 2);
    buf.writeUInt32BE(this.#senderSsrc >>> 0, 4);
    buf.writeUInt32BE(this.#mediaSsrc >>> 0, 8);
    buf.writeUInt16BE(base & 0xffff, 12);
    buf.writeUInt16BE(statuses.length, 14);
    buf.writeUIntBE(reference & 0xffffff, 16, 3);
    buf.writeUInt8(this.#count & 0xff, 19);
    this.#count++;
    let offset = 20;
    for (const chunk of chunks) {
      buf.writeUInt16BE(chunk, offset);
      offset += 2;
    }
    for (const d of deltas) {
      if (d >= 0 && d <= 255) {
        buf.writeUInt8(d, offset);
        offset += 1;
      } else {
        buf.writeInt16BE(d, offset);
        offset += 2;
      }
    }
    this.#sink.sendRtcp([{ serialize: () => buf }]).catch(() => {});
  }
}
