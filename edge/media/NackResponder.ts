import {
  GenericNack,
  type RTCRtpSender,
  type RtcpPacket,
  RtcpTransportLayerFeedback,
  RtpHeader,
  type RtpPacket,
} from 'werift';
import { type PacerClock, systemClock } from './FramePacer.js';
import { isFecPacket, isRedPacket } from './fec/VideoFec.js';
import { type RtxSenderInternals, rtxPacket } from './rtxPacket.js';

export interface NackResponderOptions {
  /** The video sender whose NACKs this answers (werift's own responder is bypassed). */
  sender: RTCRtpSender;
  clock?: PacerClock;
  /** Rate retransmissions may take, bps (asked at each NACK; e.g. half the bandwidth estimate). */
  budgetBps: () => number;
  /** Packets remembered, a power of two (default 4096: ~2 s at 20 Mbit/s). */
  capacity?: number;
  /** Oldest packet worth re-sending, ms (default 1000: older ones the player has given up on). */
  maxAgeMs?: number;
  /**
   * Hands a re-send (`bytes` on the wire) to the pacer, which sends it ahead of queued media (default:
   * sent at once). Unpaced, a NACK burst after a link drop goes straight into the queue that just
   * overflowed, and is lost again.
   */
  pace?: (bytes: number, send: () => void) => void;
  /**
   * A NACK asked for more than the budget covers (at least two packets left out): re-sending it all
   * would take longer than a keyframe, e.g. everything lost while a link drop went unnoticed. The
   * caller asks the encoder for one; `supersede()` then stops re-sending what it replaces.
   */
  onOverload?: () => void;
  /** RTX payload type for packets sent in RED (`VideoFec`), apt = RED; without, those are re-sent as they are. */
  rtxForRed?: number;
}

/** Counters since start. */
export interface NackResponderStats {
  /** Sequence numbers the player asked for. */
  requested: number;
  /** Packets re-sent (as RTX when negotiated). */
  resent: number;
  /** Asked for but no longer (or never) in the history. */
  missing: number;
  /** Skipped: re-sent very recently, or over the retransmission budget. */
  skipped: number;
  /** NACKs the budget could not cover (a keyframe was asked for). */
  overloads: number;
  /** Asked for but sent before a keyframe that replaces them. */
  superseded: number;
  /** FEC packets re-sent unasked after a late repair (`VideoFec`: the receiver's padding, see `#refillFec`). */
  fecRefilled: number;
}

/**
 * Chromium keeps received padding (FEC packets count as padding) for its H.264 reference finder only
 * while it is within 100 sequence numbers of the newest padding (`RtpSeqNumOnlyRefFinder`,
 * kMaxPaddingAge); a repair arriving later than that finds the FEC numbers after its frame forgotten.
 * FEC packets this far behind the newest number sent are re-sent after a repair (a margin for what is
 * in flight while the repair travels).
 */
const FEC_REFILL_BEHIND = 60;

/** werift keeps these private; read them without widening its types. */
interface SenderInternals extends RtxSenderInternals {
  handleRtcpPacket(packet: RtcpPacket): void;
  ssrc: number;
  seqOffset: number;
  codec?: { payloadType: number };
  rtt?: number;
  nackCount: number;
  retransmittedPacketsSent: number;
  retransmittedBytesSent: number;
  dtlsTransport?: { sendRtp(payload: Buffer, header: RtpHeader): Promise<number> };
  onGenericNack: { execute(feedback: GenericNack): void };
  onRtcp: { execute(packet: RtcpPacket): void };
}

/**
 * Answers the player's NACKs from a send history of its own, replacing werift's (128 packets — a
 * fraction of one keyframe at high rates — re-sent with the original transport-wide sequence number,
 * which on an RTX SSRC would misroute the next transport-cc feedback). Re-sends go out as RTX when the
 * player negotiated it (without the transport-wide number: the estimator never learns about them, the
 * budget bounds them), a packet at most once per quarter RTT (≥ 10 ms), within `budgetBps`, through
 * the pacer's priority lane when given one (`pace`).
 */
export class NackResponder {
  readonly #sender: SenderInternals;
  readonly #rtxForRed: number | undefined;
  readonly #clock: PacerClock;
  readonly #budgetBps: () => number;
  readonly #maxAgeMs: number;
  readonly #pace: ((bytes: number, send: () => void) => void) | undefined;
  readonly #onOverload: (() => void) | undefined;
  /** Packets sent before this (clock ms) are replaced by a keyframe sent since: not re-sent. */
  #supersededBeforeMs = Number.NEGATIVE_INFINITY;
  readonly #mask: number;
  readonly #packets: Array<RtpPacket | undefined>;
  readonly #seq: Int32Array;
  readonly #sentMs: Float64Array;
  readonly #resentMs: Float64Array;
  readonly #original: (packet: RtcpPacket) => void;
  #budgetBytes = 0;
  #budgetMs: number;
  #closed = false;
  readonly #stats: NackResponderStats = {
    requested: 0,
    resent: 0,
    missing: 0,
    skipped: 0,
    overloads: 0,
    superseded: 0,
    fecRefilled: 0,
  };
  /** Newest sequence number recorded (wire numbering). */
  #newest: number | undefined;

  constructor(options: NackResponderOptions) {
    const capacity = options.capacity ?? 4096;
    if (capacity & (capacity - 1)) throw new RangeError('capacity must be a power of two');
    this.#sender = options.sender as unknown as SenderInternals;
    this.#rtxForRed = options.rtxForRed;
    this.#clock = options.clock ?? systemClock;
    this.#budgetBps = options.budgetBps;
    this.#maxAgeMs = options.maxAgeMs ?? 1000;
    this.#pace = options.pace;
    this.#onOverload = options.onOverload;
    this.#mask = capacity - 1;
    this.#packets = new Array(capacity);
    this.#seq = new Int32Array(capacity).fill(-1);
    this.#sentMs = new Float64Array(capacity);
    this.#resentMs = new Float64Array(capacity).fill(Number.NEGATIVE_INFINITY);
    this.#budgetMs = this.#clock.now();
    const sender = this.#sender;
    this.#original = sender.handleRtcpPacket.bind(sender);
    // werift's router calls the method on the sender object: an own property takes precedence.
    sender.handleRtcpPacket = (packet: RtcpPacket) => this.#onRtcp(packet);
  }

  /** Counters since start (a live object). */
  get stats(): Readonly<NackResponderStats> {
    return this.#stats;
  }

  /** Remembers a video packet just handed to the sender (its sequence number before werift's offset). */
  record(packet: RtpPacket): void {
    if (this.#closed) return;
    const seq = (packet.header.sequenceNumber + this.#sender.seqOffset) & 0xffff;
    const slot = seq & this.#mask;
    this.#packets[slot] = packet;
    this.#seq[slot] = seq;
    this.#sentMs[slot] = this.#clock.now();
    this.#resentMs[slot] = Number.NEGATIVE_INFINITY;
    if (this.#newest === undefined || ((seq - this.#newest) & 0xffff) < 0x8000) this.#newest = seq;
  }

  /** A keyframe is on its way: packets sent before now are not worth re-sending any more. */
  supersede(): void {
    this.#supersededBeforeMs = this.#clock.now();
  }

  /** Gives NACK handling back to werift and forgets the history; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    Reflect.deleteProperty(this.#sender, 'handleRtcpPacket');
    this.#packets.fill(undefined);
  }

  #onRtcp(packet: RtcpPacket): void {
    const feedback = (packet as RtcpTransportLayerFeedback).feedback;
    if (packet.type !== RtcpTransportLayerFeedback.type || feedback?.count !== GenericNack.count) {
      this.#original(packet);
      return;
    }
    const nack = feedback as GenericNack;
    const sender = this.#sender;
    sender.nackCount++;
    this.#answer(nack.lost);
    sender.onGenericNack.execute(nack);
    sender.onRtcp.execute(packet);
  }

  #answer(lost: readonly number[]): void {
    const now = this.#clock.now();
    const rate = Math.max(0, this.#budgetBps());
    // Up to 50 ms of the budget may go at once (a lost burst), at least two packets.
    const cap = Math.max(2500, (rate * 50) / 8000);
    this.#budgetBytes = Math.min(cap, this.#budgetBytes + (rate * (now - this.#budgetMs)) / 8000);
    this.#budgetMs = now;
    const rttMs = Math.max(10, (this.#sender.rtt ?? 0.05) * 1000);
    // A packet re-sent less than this ago is not re-sent again (the same number in back-to-back NACKs).
    // Not a whole RTT: the player retries after its own RTT (RTCP XR, `ReceiverRttResponder`), which runs
    // below werift's (SR/RR, with the edge's event-loop delay in it) — 21-29 ms against 35-55 at a 30 ms
    // link — and a retry skipped because the re-send was lost costs the frame another round.
    const repeatMs = Math.max(10, rttMs / 4);
    let overBudget = 0;
    let oldestResent: number | undefined;
    for (const seq of lost) {
      this.#stats.requested++;
      const slot = seq & this.#mask;
      const packet = this.#packets[slot];
      if (!packet || this.#seq[slot] !== seq || now - (this.#sentMs[slot] ?? 0) > this.#maxAgeMs) {
        this.#stats.missing++;
        continue;
      }
      if ((this.#sentMs[slot] ?? 0) < this.#supersededBeforeMs) {
        this.#stats.superseded++;
        continue;
      }
      const size = packet.payload.length + 40;
      if (now - (this.#resentMs[slot] ?? 0) < repeatMs || this.#budgetBytes < size) {
        if (this.#budgetBytes < size) overBudget++;
        this.#stats.skipped++;
        continue;
      }
      this.#budgetBytes -= size;
      this.#resentMs[slot] = now;
      this.#resend(packet, seq);
      if (oldestResent === undefined || ((oldestResent - seq) & 0xffff) < 0x8000) oldestResent = seq;
    }
    if (oldestResent !== undefined) this.#refillFec(oldestResent, now);
    if (overBudget >= 2 && this.#onOverload) {
      this.#stats.overloads++;
      this.#onOverload();
    }
  }

  /**
   * A repair for `repaired` is on its way: the receiver hands its frame (and the complete ones that
   * waited behind it) to the reference finder when it arrives, and each of those needs the FEC numbers
   * after it in its padding. Those more than ~100 numbers behind the newest it received are forgotten
   * by then: they are re-sent after the repair (in order, twice each per repair, outside the budget —
   * a missing one stalls every later frame until a keyframe; late repairs are few).
   */
  #refillFec(repaired: number, now: number): void {
    const newest = this.#newest;
    if (newest === undefined) return;
    const behind = (newest - repaired) & 0xffff;
    if (behind >= 0x8000 || behind <= FEC_REFILL_BEHIND) return;
    const span = Math.min(behind - FEC_REFILL_BEHIND, this.#mask);
    for (let i = 1; i <= span; i++) {
      const seq = (repaired + i) & 0xffff;
      const slot = seq & this.#mask;
      const packet = this.#packets[slot];
      if (!packet || this.#seq[slot] !== seq || !isFecPacket(packet)) continue;
      if (this.#resentMs[slot] === now || (this.#sentMs[slot] ?? 0) < this.#supersededBeforeMs) continue;
      this.#resentMs[slot] = now;
      this.#stats.fecRefilled++;
      // Twice: a lost one is not asked for again (the receiver had it once), and stalls the stream.
      this.#resend(packet, seq);
      this.#resend(packet, seq);
    }
  }

  #resend(packet: RtpPacket, seq: number): void {
    const sender = this.#sender;
    const transport = sender.dtlsTransport;
    // A RED-wrapped packet (VideoFec) goes back under RED's payload type, as RTX with apt = RED.
    const red = isRedPacket(packet);
    const payloadType = red ? packet.header.payloadType : sender.codec?.payloadType;
    if (!transport || payloadType === undefined) return;
    const rtx = rtxPacket(sender, packet, seq, red ? this.#rtxForRed : sender.rtxPayloadType);
    const header =
      rtx?.header ??
      new RtpHeader({
        payloadType,
        marker: packet.header.marker,
        sequenceNumber: seq,
        timestamp: (packet.header.timestamp + sender.timestampOffset) >>> 0,
        ssrc: sender.ssrc,
        extensions: packet.header.extensions.map((e) => ({ id: e.id, payload: e.payload })),
      });
    const payload = rtx?.payload ?? packet.payload;
    sender.retransmittedPacketsSent++;
    sender.retransmittedBytesSent += payload.length;
    this.#stats.resent++;
    const send = (): void => {
      transport.sendRtp(payload, header).catch(() => {});
    };
    // RTP header, SRTP tag, UDP/IP.
    if (this.#pace) this.#pace(payload.length + 12 + 10 + 28, send);
    else send();
  }
}
