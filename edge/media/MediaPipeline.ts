import type { Logger } from 'pino';
import {
  GenericNack,
  H264Packetizer,
  OpusPacketizer,
  type RTCRtpSender,
  type RtcpPacket,
  RtcpPayloadSpecificFeedback,
  RtcpRrPacket,
  RtcpSrPacket,
  RtcpTransportLayerFeedback,
} from 'werift';
import { writeFrameStamp, type YuvPlanes } from '../../protocol/frameStamp.js';
import { TypedEmitter } from '../../protocol/TypedEmitter.js';
import {
  ABS_CAPTURE_TIME_URI,
  negotiatedExtensionId,
  PLAYOUT_DELAY_URI,
} from '../session/rtpHeaderExtensions.js';
import type { SessionStats } from '../session/SessionStats.js';
import { FramePacer, type PacerClock } from './FramePacer.js';
import type { FrameSource, PushedFrame } from './FrameSource.js';
import { H264Encoder, type H264EncoderOptions, VIDEO_CLOCK_RATE } from './H264Encoder.js';
import { OPUS_FRAME_SAMPLES, OpusEncoder } from './OpusEncoder.js';

const ZERO_PLAYOUT_DELAY = Buffer.from([0, 0, 0]);
/** Seconds from the NTP epoch (1900) to the Unix epoch. */
const NTP_UNIX_OFFSET_SECONDS = 2_208_988_800;
/** FIR (RFC 5104) is payload-specific feedback format 4. */
const FIR_FORMAT = 4;

/** Opens an H.264 encoder (default H264Encoder.open; tests inject failing ones). */
export type OpenVideoEncoder = (options: H264EncoderOptions) => Promise<H264Encoder>;

/** What a MediaPipeline is built from. */
export interface MediaPipelineOptions {
  source: FrameSource;
  /** FFmpeg H.264 encoder name. */
  encoder: string;
  threads: number;
  width: number;
  height: number;
  fps: number;
  videoBitrateKbps: number;
  audioBitrateKbps: number;
  /** Send the playout-delay extension when the player accepted it. */
  zeroPlayoutDelay: boolean;
  stats: SessionStats;
  clock: PacerClock;
  /** Wall clock for frame stamps and capture times. */
  wallClock: () => number;
  logger: Logger;
  openVideoEncoder?: OpenVideoEncoder;
}

/** Events of a MediaPipeline. */
export type MediaPipelineEvents = {
  /** An encoder or the RTP path failed: the session ends. */
  failed: [error: unknown];
};

/**
 * A session's media: the H.264 and Opus encoders, the frame pacers (pull sources) or the frame sink
 * (push sources), RTP packetizing with the capture-time and playout-delay extensions, keyframes on
 * PLI/FIR/request, bitrate changes and the encoder swap on resize. Everything it counts goes to the
 * session's stats. A frame that finds the previous one still in the encoder is dropped, never queued.
 */
export class MediaPipeline extends TypedEmitter<MediaPipelineEvents> {
  /** At most one encoder re-open per this many ms; resizes in between wait, the latest wins. */
  static readonly RESIZE_INTERVAL_MS = 1000;
  readonly #options: MediaPipelineOptions;
  readonly #source: FrameSource;
  readonly #stats: SessionStats;
  readonly #clock: PacerClock;
  readonly #log: Logger;
  readonly #openVideo: OpenVideoEncoder;
  readonly #packetizer = new H264Packetizer({ maxPayloadSize: 1200, inputFormat: 'annexb' });
  readonly #opusPacketizer = new OpusPacketizer();
  readonly #rtpBase = Math.floor(Math.random() * 0x7fffffff);
  #video: H264Encoder | undefined;
  #audio: OpusEncoder | undefined;
  #videoSender: RTCRtpSender | undefined;
  #audioSender: RTCRtpSender | undefined;
  #videoPacer: FramePacer | undefined;
  #audioPacer: FramePacer | undefined;
  #captureExtensionId: number | undefined;
  #playoutExtensionId: number | undefined;
  #width: number;
  #height: number;
  #bitrateKbps: number;
  #keyframeRequested = true;
  #resizing = false;
  /** When the last re-open started (clock ms), and the size waiting for the next allowed one. */
  #lastResizeAt = Number.NEGATIVE_INFINITY;
  #pendingSize: { width: number; height: number } | undefined;
  #resizeTimer: unknown;
  #frameNumber = 0;
  #audioSamples = 0;
  #pushDroppedBusy = 0;
  #started = false;
  #closed = false;

  constructor(options: MediaPipelineOptions) {
    super({
      onListenerError: (error, event) => options.logger.error({ err: error, event }, 'media listener threw'),
    });
    this.#options = options;
    this.#source = options.source;
    this.#stats = options.stats;
    this.#clock = options.clock;
    this.#log = options.logger;
    this.#openVideo = options.openVideoEncoder ?? ((o) => H264Encoder.open(o));
    this.#width = options.width;
    this.#height = options.height;
    this.#bitrateKbps = options.videoBitrateKbps;
  }

  get width(): number {
    return this.#width;
  }

  get height(): number {
    return this.#height;
  }

  /** The video encoder's current target bitrate, kbit/s. */
  get bitrateKbps(): number {
    return this.#video?.bitrateKbps ?? this.#bitrateKbps;
  }

  /** Video frames skipped because the encoder was still busy with the previous one. */
  get droppedBusy(): number {
    return (this.#videoPacer?.stats.droppedBusy ?? 0) + this.#pushDroppedBusy;
  }

  /** Video frame slots skipped because the loop woke up late (pull sources). */
  get droppedLate(): number {
    return this.#videoPacer?.stats.droppedLate ?? 0;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Opens the video and audio encoders. Throws FarplayError `EDGE_NO_ENCODER` / `EDGE_ENCODER_FAILED`. */
  async open(): Promise<void> {
    const video = await this.#openVideo(this.#videoOptions(this.#width, this.#height, this.#bitrateKbps));
    if (this.#closed) return video.close();
    this.#video = video;
    const audio = await OpusEncoder.open(this.#options.audioBitrateKbps);
    if (this.#closed) return audio.close();
    this.#audio = audio;
  }

  /**
   * Starts sending on the negotiated senders: looks the header extension ids up once, listens to the
   * player's RTCP, then runs the pacers (pull source) or attaches the frame sink (push source).
   */
  start(video: RTCRtpSender, audio: RTCRtpSender | undefined): void {
    if (this.#closed || this.#started) return;
    this.#started = true;
    this.#videoSender = video;
    this.#audioSender = audio;
    this.#captureExtensionId = negotiatedExtensionId(video, ABS_CAPTURE_TIME_URI);
    this.#playoutExtensionId = this.#options.zeroPlayoutDelay
      ? negotiatedExtensionId(video, PLAYOUT_DELAY_URI)
      : undefined;
    this.#keyframeRequested = true;
    video.onPictureLossIndication.subscribe(() => {
      this.#keyframeRequested = true;
      this.#stats.recordPli();
    });
    video.onRtcp.subscribe((packet) => this.#onRtcp(video, packet));
    const onError = (error: unknown): void => this.#onError(error);
    const source = this.#source;
    if (source.delivery === 'pull') {
      this.#videoPacer = new FramePacer({
        fps: this.#options.fps,
        clock: this.#clock,
        onFrame: () => this.#pullVideoFrame(),
        onError,
      });
      this.#videoPacer.start();
    } else {
      source.attach({ pushFrame: (frame) => this.#pushVideoFrame(frame) });
    }
    this.#audioPacer = new FramePacer({
      fps: 1000 / 20,
      clock: this.#clock,
      onFrame: () => this.#sendAudioFrame(),
      onError,
    });
    this.#audioPacer.start();
  }

  /** The next frame is an IDR. */
  requestKeyframe(): void {
    this.#keyframeRequested = true;
  }

  /** Changes the video bitrate from the next frame. */
  setBitrate(kbps: number): void {
    this.#bitrateKbps = kbps;
    this.#video?.setBitrate(kbps);
  }

  /**
   * Swaps in an encoder of the new size (frames in between are skipped), tells the source and forces a
   * keyframe. Re-opening an encoder is costly: at most one per RESIZE_INTERVAL_MS; a resize sooner waits
   * for the interval to end and only the latest waiting size is opened. A resize while another is opening,
   * or to the current size, does nothing. Throws the encoder's FarplayError when the new one does not
   * open (the old one keeps running; a waiting resize that fails is logged).
   */
  async resize(width: number, height: number): Promise<void> {
    if (this.#closed) return;
    const wait = this.#lastResizeAt + MediaPipeline.RESIZE_INTERVAL_MS - this.#clock.now();
    if (wait > 0 || this.#resizing) {
      this.#pendingSize = { width, height };
      this.#resizeTimer ??= this.#clock.setTimeout(
        () => {
          this.#resizeTimer = undefined;
          const next = this.#pendingSize;
          this.#pendingSize = undefined;
          if (next) {
            this.resize(next.width, next.height).catch((error: unknown) =>
              this.#log.warn({ err: error }, 'resize failed; the stream keeps its size'),
            );
          }
        },
        Math.max(wait, 50),
      );
      return;
    }
    const current = this.#video;
    if ((width === this.#width && height === this.#height) || !current) return;
    this.#lastResizeAt = this.#clock.now();
    this.#resizing = true;
    try {
      const next = await this.#openVideo(this.#videoOptions(width, height, current.bitrateKbps));
      if (this.#closed) return next.close();
      current.close();
      this.#video = next;
      this.#width = width;
      this.#height = height;
      this.#source.resize(width, height);
      this.#keyframeRequested = true;
    } finally {
      this.#resizing = false;
    }
  }

  /** Stops the pacers, detaches a push source, closes the encoders; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#resizeTimer !== undefined) this.#clock.clearTimeout(this.#resizeTimer);
    this.#videoPacer?.stop();
    this.#audioPacer?.stop();
    if (this.#started && this.#source.delivery === 'push') this.#source.detach();
    this.#video?.close();
    this.#audio?.close();
  }

  #videoOptions(width: number, height: number, bitrateKbps: number): H264EncoderOptions {
    return {
      codec: this.#options.encoder,
      width,
      height,
      fps: this.#options.fps,
      bitrateKbps,
      threads: this.#options.threads,
    };
  }

  #onError(error: unknown): void {
    if (this.#closed) return;
    this.#log.error({ err: error }, 'media path failed');
    this.emit('failed', error);
  }

  #onRtcp(video: RTCRtpSender, packet: RtcpPacket): void {
    if (packet.type === RtcpPayloadSpecificFeedback.type) {
      // FIR: werift passes it on without acting on it.
      const feedback = (packet as RtcpPayloadSpecificFeedback).feedback as { count?: number } | undefined;
      if (feedback?.count === FIR_FORMAT) {
        this.#keyframeRequested = true;
        this.#stats.recordFir();
      }
    } else if (packet.type === RtcpTransportLayerFeedback.type) {
      const feedback = (packet as RtcpTransportLayerFeedback).feedback as { count?: number } | undefined;
      if (feedback?.count === GenericNack.count) this.#stats.recordNack();
    } else if (packet.type === RtcpRrPacket.type || packet.type === RtcpSrPacket.type) {
      for (const report of (packet as RtcpRrPacket).reports) {
        if (report.ssrc !== video.ssrc) continue;
        // werift computes the RTT from the report's LSR/DLSR before passing the packet on; it keeps it private.
        const rttSeconds = (video as unknown as { rtt?: number }).rtt;
        this.#stats.recordReceiverReport({
          rttMs: rttSeconds === undefined ? undefined : rttSeconds * 1000,
          jitterMs: report.jitter / (VIDEO_CLOCK_RATE / 1000),
          fractionLost: report.fractionLost / 256,
        });
      }
    }
  }

  async #pullVideoFrame(): Promise<void> {
    const source = this.#source;
    if (source.delivery !== 'pull') return;
    const encoder = this.#video;
    if (!encoder || this.#closed || this.#resizing) return;
    const started = this.#clock.now();
    const captureTimeMs = this.#options.wallClock();
    const planes = encoder.planes;
    source.renderFrame(planes, started);
    await this.#encodeAndSend(encoder, planes, started, captureTimeMs);
  }

  #pushVideoFrame(frame: PushedFrame): void {
    const encoder = this.#video;
    if (!encoder || this.#closed) return;
    if (this.#resizing || encoder.busy) {
      this.#pushDroppedBusy++;
      return;
    }
    const started = this.#clock.now();
    const captureTimeMs = frame.captureTimeMs ?? this.#options.wallClock();
    const planes = encoder.planes;
    try {
      frame.draw(planes);
    } catch (error) {
      this.#log.warn({ err: error }, 'a pushed frame failed to draw');
      return;
    }
    this.#encodeAndSend(encoder, planes, started, captureTimeMs).catch((error: unknown) =>
      this.#onError(error),
    );
  }

  async #encodeAndSend(
    encoder: H264Encoder,
    planes: YuvPlanes,
    started: number,
    captureTimeMs: number,
  ): Promise<void> {
    const sender = this.#videoSender;
    if (!sender) return;
    const frame = this.#frameNumber++;
    writeFrameStamp(planes, { frame, captureTimeMs, inputSeq: this.#stats.lastInputSeq });
    const keyframe = this.#keyframeRequested;
    this.#keyframeRequested = false;
    const rtpTimestamp = (this.#rtpBase + Math.round(started * (VIDEO_CLOCK_RATE / 1000))) >>> 0;
    const encodeStart = this.#clock.now();
    const unit = await encoder.encode(rtpTimestamp, keyframe);
    this.#stats.recordEncoded(this.#clock.now() - encodeStart, unit !== null);
    if (!unit || this.#closed) return;
    const packets = this.#packetizer.packetize(unit, rtpTimestamp);
    const first = packets[0];
    if (this.#playoutExtensionId !== undefined && first) {
      first.header.extensions.push({ id: this.#playoutExtensionId, payload: ZERO_PLAYOUT_DELAY });
    }
    if (this.#captureExtensionId !== undefined && first) {
      const payload = Buffer.allocUnsafe(8);
      const seconds = Math.floor(captureTimeMs / 1000);
      payload.writeUInt32BE((seconds + NTP_UNIX_OFFSET_SECONDS) >>> 0, 0);
      payload.writeUInt32BE(Math.floor(((captureTimeMs - seconds * 1000) / 1000) * 0x1_0000_0000) >>> 0, 4);
      first.header.extensions.push({ id: this.#captureExtensionId, payload });
    }
    let last: Promise<void> | undefined;
    for (const packet of packets) last = sender.sendRtp(packet);
    await last;
    this.#stats.recordSent(unit.length, this.#clock.now() - started, keyframe);
  }

  async #sendAudioFrame(): Promise<void> {
    const encoder = this.#audio;
    const sender = this.#audioSender;
    if (!encoder || !sender || this.#closed) return;
    this.#source.mixAudio(encoder.pcm);
    const pts = this.#audioSamples;
    this.#audioSamples += OPUS_FRAME_SAMPLES;
    const packet = await encoder.encode(pts);
    if (!packet || this.#closed) return;
    const rtpTimestamp = (this.#rtpBase + pts) >>> 0;
    for (const rtp of this.#opusPacketizer.packetize(packet, rtpTimestamp)) await sender.sendRtp(rtp);
    this.#stats.recordAudioPacket();
  }
}
