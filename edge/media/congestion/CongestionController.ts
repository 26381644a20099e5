import type { RTCRtpSender, RtcpPacket, RtpHeader, RtpPacket } from 'werift';
import {
  RTP_EXTENSION_URI,
  RtcpRrPacket,
  RtcpSrPacket,
  RtcpTransportLayerFeedback,
  serializeTransportWideCC,
  TransportWideCC,
} from 'werift';
import { TypedEmitter } from '../../../protocol/TypedEmitter.js';
import { type PacerClock, systemClock } from '../FramePacer.js';
import { isRedPacket, sendVideoRtp } from '../fec/VideoFec.js';
import { type RtxSenderInternals, rtxPacket } from '../rtxPacket.js';
import { PacketPacer, type PacketPacerStats } from './PacketPacer.js';
import type { ProbeCluster } from './ProbeCluster.js';
import type { TransportFeedbackLike } from './readTransportFeedback.js';
import { type SendSideEstimate, SendSideEstimator } from './SendSideEstimator.js';

export interface CongestionControllerOptions {
  /** The video sender; its transport must have negotiated transport-cc (see `TRANSPORT_CC_URI`). */
  video: RTCRtpSender;
  /** Other senders on the same transport (audio): their werift estimators are switched off too. */
  others?: RTCRtpSender[];
  clock?: PacerClock;
  startBps: number;
  minBps: number;
  maxBps: number;
  /** Pacing rate as a multiple of the estimate (default 1.5). */
  pacingFactor?: number;
  /** Called when a listener throws (the media path must not). */
  onListenerError?: (error: unknown, event: string) => void;
  /** Each media packet as it is handed to the sender (not probe duplicates): a send history for NACKs. */
  onPacketSent?: (packet: RtpPacket) => void;
  /** RTX payload type for RED-wrapped packets (`VideoFec`, apt = RED): probe filler for them goes as RTX too. */
  rtxForRed?: number;
}

/** Events of a CongestionController. */
export type CongestionControllerEvents = {
  /** A feedback changed the estimate (at most once per feedback, ~every 50-100 ms). */
  estimate: [estimate: SendSideEstimate];
};

/** Bytes a packet costs on the wire beyond its payload: RTP header and extensions, SRTP tag, UDP/IP. */
const PACKET_OVERHEAD = 12 + 24 + 10 + 28;
/** Recent media packets kept as probe filler (re-sent duplicates the receiver discards). */
const FILLER_PACKETS = 64;

/** werift's per-sender estimator, as its RTP sender calls it. */
interface WeriftSenderBwe {
  rtpPacketSent(sentInfo: { wideSeq: number; size: number }): void;
  receiveTWCC(feedback: TransportFeedbackLike): void;
}

/** werift keeps these private; read them without widening its types. */
interface WeriftSenderInternals extends RtxSenderInternals {
  dtlsTransport?: {
    transportSequenceNumber?: number;
    sendRtp?(payload: Buffer, header: RtpHeader): Promise<number>;
    onRtcp?: { subscribe(listener: (packet: RtcpPacket) => void): { unSubscribe(): void } };
  };
  rtt?: number;
  seqOffset: number;
  headerExtensions?: Array<{ uri: string; id: number }>;
}

/**
 * The edge's congestion control for one session's video: takes werift's transport-cc feedback away
 * from its own estimator (min of send and receive rate, with a send history it never prunes) and feeds
 * it to a GCC-style `SendSideEstimator`; sends every video packet through a `PacketPacer` at 1.5× the
 * estimate, tagged with its transport-wide sequence number; fills probe clusters with RTX copies of recent
 * video packets (the receiver counts them for transport-cc, then discards them). Emits `estimate` for
 * the encoder's bitrate and the quality ladder.
 */
export class CongestionController extends TypedEmitter<CongestionControllerEvents> {
  readonly #video: RTCRtpSender;
  readonly #clock: PacerClock;
  readonly #estimator: SendSideEstimator;
  readonly #pacer: PacketPacer<RtpPacket>;
  readonly #pacingFactor: number;
  readonly #onPacketSent: ((packet: RtpPacket) => void) | undefined;
  readonly #rtxForRed: number | undefined;
  readonly #filler: RtpPacket[] = [];
  #fillerNext = 0;
  #padCursor = 0;
  readonly #minBpsValue: number;
  #feedbacks = 0;
  #closed = false;
  readonly #unsubscribe: Array<() => void> = [];

  constructor(options: CongestionControllerOptions) {
    super(options.onListenerError ? { onListenerError: options.onListenerError } : {});
    this.#video = options.video;
    this.#clock = options.clock ?? systemClock;
    this.#pacingFactor = options.pacingFactor ?? 1.5;
    this.#onPacketSent = options.onPacketSent;
    this.#rtxForRed = options.rtxForRed;
    this.#minBpsValue = options.minBps;
    this.#estimator = new SendSideEstimator({
      startBps: options.startBps,
      minBps: options.minBps,
      maxBps: options.maxBps,
    });
    this.#pacer = new PacketPacer<RtpPacket>({
      clock: this.#clock,
      sizeOf: (packet) => packet.payload.length + PACKET_OVERHEAD,
      send: (packet, clusterId) => this.#transmit(packet, clusterId, false),
      sendPadding: (bytes, clusterId) => this.#pad(bytes, clusterId),
      rateBps: this.#pacingFactor * this.#estimator.bps,
    });
    const bwe: WeriftSenderBwe = {
      rtpPacketSent: () => {},
      receiveTWCC: (feedback) => this.#onFeedback(feedback),
    };
    CongestionController.#replaceBwe(this.#video, bwe);
    for (const other of options.others ?? []) {
      CongestionController.#replaceBwe(other, { rtpPacketSent: () => {}, receiveTWCC: () => {} });
    }
    const subscription = this.#video.onRtcp.subscribe((packet: RtcpPacket) => this.#onRtcp(packet));
    this.#unsubscribe.push(() => subscription.unSubscribe());
    // Chromium addresses a transport-cc feedback to the SSRC of the last numbered packet it covers; when
    // that is a probe's RTX padding, werift's router (which knows only the media SSRC) drops it.
    const transport = (this.#video as unknown as WeriftSenderInternals).dtlsTransport;
    const rtx = transport?.onRtcp?.subscribe((packet) => this.#onTransportRtcp(packet));
    if (rtx) this.#unsubscribe.push(() => rtx.unSubscribe());
  }

  /** Current estimate and why. */
  get estimate(): SendSideEstimate {
    return this.#estimator.snapshot;
  }

  /** Feedback messages processed. */
  get feedbacks(): number {
    return this.#feedbacks;
  }

  /** Pacer counters (packets, padding bytes, probes, longest wait). */
  get pacerStats(): Readonly<PacketPacerStats> {
    return this.#pacer.stats;
  }

  /** Time the pacer's queue needs to drain, ms. */
  get queueMs(): number {
    return this.#pacer.queueMs;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The player's cap (or the edge's maximum), bps. */
  setMaxBps(maxBps: number): void {
    this.#estimator.setBounds(this.#minBpsValue, maxBps);
    this.#pacer.setRate(this.#pacingFactor * this.#estimator.bps);
  }

  /**
   * Queues one frame's packets; resolves when the last has left (true) or they were dropped (false). A
   * `keyframe` drops what is still queued of the frames before it (`PacketPacer.enqueue`).
   */
  sendFrame(packets: RtpPacket[], keyframe = false): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    this.#probe();
    return this.#pacer.enqueue(packets, keyframe);
  }

  /** Sends a retransmission (`bytes` on the wire) ahead of queued frames, at the pacing rate. */
  sendPriority(bytes: number, send: () => void): void {
    if (this.#closed) return;
    this.#pacer.enqueuePriority(bytes, send);
  }

  /** Stops pacing (queued packets are dropped); idempotent. werift's estimators stay replaced. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pacer.close();
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    this.#filler.length = 0;
  }

  static #replaceBwe(sender: RTCRtpSender, bwe: WeriftSenderBwe): void {
    Object.defineProperty(sender, 'senderBWE', { value: bwe, writable: true, configurable: true });
  }

  #transmit(packet: RtpPacket, clusterId: number, duplicate: boolean): number {
    const size = packet.payload.length + PACKET_OVERHEAD;
    sendVideoRtp(this.#video, packet).catch(() => {});
    // werift numbers the packet synchronously inside sendRtp, before its first await.
    const seq = (this.#video as unknown as WeriftSenderInternals).dtlsTransport?.transportSequenceNumber;
    if (seq !== undefined) this.#estimator.onPacketSent(seq, size, this.#clock.now(), clusterId, duplicate);
    if (!duplicate) {
      this.#onPacketSent?.(packet);
      this.#filler[this.#fillerNext] = packet;
      this.#fillerNext = (this.#fillerNext + 1) % FILLER_PACKETS;
    }
    return size;
  }

  /**
   * Probe filler: re-sends a recent video packet (the pacer asks for `_bytes`; packets are ~1.2 kB). As
   * RTX when negotiated (libwebrtc's payload padding): a plain duplicate fails Chromium's SRTP replay check
   * before its transport-cc accounting, so the probe would measure only the media it carries; an RTX
   * copy has a fresh RTX sequence number, is counted, and is then discarded as a duplicate.
   */
  #pad(_bytes: number, clusterId: number): number {
    if (this.#filler.length === 0) return 0;
    this.#padCursor = (this.#padCursor + 1) % this.#filler.length;
    const packet = this.#filler[this.#padCursor];
    if (!packet) return 0;
    return this.#transmitRtx(packet, clusterId) ?? this.#transmit(packet, clusterId, true);
  }

  /** Sends `packet` as RTX with the next transport-wide sequence number; undefined without RTX. */
  #transmitRtx(packet: RtpPacket, clusterId: number): number | undefined {
    const sender = this.#video as unknown as WeriftSenderInternals;
    const transport = sender.dtlsTransport;
    const id = sender.headerExtensions?.find((e) => e.uri === RTP_EXTENSION_URI.transportWideCC)?.id;
    if (!transport?.sendRtp || transport.transportSequenceNumber === undefined || id === undefined)
      return undefined;
    // A RED-wrapped packet (VideoFec) goes under RED's RTX type (without one: padded as a plain copy).
    const seq = (packet.header.sequenceNumber + sender.seqOffset) & 0xffff;
    const rtx = isRedPacket(packet)
      ? this.#rtxForRed !== undefined
        ? rtxPacket(sender, packet, seq, this.#rtxForRed)
        : undefined
      : rtxPacket(sender, packet, seq);
    if (!rtx) return undefined;
    const wide = (transport.transportSequenceNumber + 1) & 0xffff;
    transport.transportSequenceNumber = wide;
    // The packet's own extensions stay (a copy that arrives before its lost original repairs it, and
    // needs its Dependency Descriptor), with the transport-wide number added.
    rtx.header.extensions = [
      ...rtx.header.extensions.filter((e) => e.id !== id),
      { id, payload: serializeTransportWideCC(wide) },
    ].sort((a, b) => a.id - b.id);
    transport.sendRtp(rtx.payload, rtx.header).catch(() => {});
    const size = rtx.payload.length + PACKET_OVERHEAD;
    this.#estimator.onPacketSent(wide, size, this.#clock.now(), clusterId, true);
    return size;
  }

  #probe(): void {
    const clusters: ProbeCluster[] = this.#estimator.process(this.#clock.now());
    for (const cluster of clusters) this.#pacer.probe(cluster);
  }

  #onFeedback(feedback: TransportFeedbackLike): void {
    if (this.#closed) return;
    this.#feedbacks++;
    const before = this.#estimator.bps;
    this.#estimator.onTransportFeedback(feedback, this.#clock.now());
    this.#pacer.setRate(this.#pacingFactor * this.#estimator.bps);
    this.#probe();
    if (this.#estimator.bps !== before) this.emit('estimate', this.#estimator.snapshot);
  }

  #onTransportRtcp(packet: RtcpPacket): void {
    if (packet.type !== RtcpTransportLayerFeedback.type) return;
    const feedback = (packet as RtcpTransportLayerFeedback).feedback;
    const sender = this.#video as unknown as WeriftSenderInternals;
    if (feedback?.count !== TransportWideCC.count || sender.rtxPayloadType === undefined) return;
    const ssrc = (feedback as TransportWideCC).mediaSourceSsrc;
    if (ssrc === sender.rtxSsrc && ssrc !== this.#video.ssrc) this.#onFeedback(feedback as TransportWideCC);
  }

  #onRtcp(packet: RtcpPacket): void {
    if (packet.type !== RtcpRrPacket.type && packet.type !== RtcpSrPacket.type) return;
    const rttSeconds = (this.#video as unknown as WeriftSenderInternals).rtt;
    if (rttSeconds !== undefined && rttSeconds > 0) this.#estimator.setRtt(rttSeconds * 1000);
  }
}
