import type { Logger } from 'pino';
import { H264Packetizer, OpusPacketizer, type RTCRtpSender } from 'werift';
import { writeFrameStamp, type YuvPlanes } from '../../protocol/frameStamp.js';
import { TypedEmitter } from '../../protocol/TypedEmitter.js';
import {
  ABS_CAPTURE_TIME_URI,
  DEPENDENCY_DESCRIPTOR_URI,
  negotiatedExtensionId,
  PLAYOUT_DELAY_URI,
  TRANSPORT_CC_URI,
} from '../session/rtpHeaderExtensions.js';
import type { SessionStats } from '../session/SessionStats.js';
import { FramePacer, type PacerClock } from './FramePacer.js';
import type { FrameSource, PushedFrame } from './FrameSource.js';
import type { FecPayloadTypes } from './fec/VideoFec.js';
import { H264Encoder, type H264EncoderOptions, VIDEO_CLOCK_RATE } from './H264Encoder.js';
import type { MediaPipelineEvents, MediaPipelineOptions, OpenVideoEncoder } from './MediaPipelineOptions.js';
import { OPUS_FRAME_SAMPLES, OpusEncoder } from './OpusEncoder.js';
import type { QualityRung } from './QualityLadder.js';
import { recordVideoRtcp } from './recordVideoRtcp.js';
import { VideoEncoderSlot } from './VideoEncoderSlot.js';
import { VideoRateControl, type VideoRateControlStats } from './VideoRateControl.js';
import { FrameExtensions, isIdrAccessUnit } from './videoRtpExtensions.js';

/** Fewest ms between two keyframes the receiver asked for with PLI/FIR (the player's own requests are not limited). */
const KEYFRAME_MIN_INTERVAL_MS = 300;

/**
 * A session's media: the H.264 and Opus encoders, the frame pacers (pull sources) or the frame sink
 * (push sources), RTP packetizing with the capture-time and playout-delay extensions, keyframes on
 * PLI/FIR/request, bitrate changes and the encoder swap on resize. Everything it counts goes to the
 * session's stats. A frame that finds the previous one still in the encoder is dropped, never queued.
 */
export class MediaPipeline extends TypedEmitter<MediaPipelineEvents> {
  /** At most one encoder re-open per this many ms for player resizes; the latest waiting size wins. */
  static readonly RESIZE_INTERVAL_MS = VideoEncoderSlot.RESIZE_INTERVAL_MS;
  readonly #options: MediaPipelineOptions;
  readonly #source: FrameSource;
  readonly #stats: SessionStats;
  readonly #clock: PacerClock;
  readonly #log: Logger;
  readonly #openVideo: OpenVideoEncoder;
  readonly #packetizer = new H264Packetizer({ maxPayloadSize: 1200, inputFormat: 'annexb' });
  readonly #opusPacketizer = new OpusPacketizer();
  readonly #rtpBase = Math.floor(Math.random() * 0x7fffffff);
  readonly #slot: VideoEncoderSlot;
  #audio: OpusEncoder | undefined;
  #videoSender: RTCRtpSender | undefined;
  #audioSender: RTCRtpSender | undefined;
  #videoPacer: FramePacer | undefined;
  #audioPacer: FramePacer | undefined;
  #extensions = new FrameExtensions();
  #rateControl: VideoRateControl | undefined;
  /** The player's cap, kbit/s; null = auto. */
  #capKbps: number | null = null;
  #fps: number;
  /** Encode one pulled frame in this many (a ladder rung at a lower fps). */
  #decimate = 1;
  #pullSlot = 0;
  #lastPushEncodeMs = Number.NEGATIVE_INFINITY;
  #droppedCongested = 0;
  #superseded = 0;
  #bitrateKbps: number;
  /** The next frame is an IDR (the player asked, a resize, the start). */
  #keyframeRequested = true;
  /** The receiver asked for an IDR (PLI/FIR): granted at most every KEYFRAME_MIN_INTERVAL_MS. */
  #keyframeWanted = false;
  #lastKeyframeMs = Number.NEGATIVE_INFINITY;
  #frameNumber = 0;
  #audioSamples = 0;
  #pushDroppedBusy = 0;
  #started = false;
  #paused = false;
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
    this.#slot = new VideoEncoderSlot({
      width: options.width,
      height: options.height,
      clock: options.clock,
      logger: options.logger,
      open: (width, height) => this.#openVideo(this.#videoOptions(width, height, this.#encoderKbps())),
      encoderKbps: () => this.#encoderKbps(),
      onSwap: (width, height) => {
        this.#source.resize(width, height);
        this.#keyframeRequested = true;
      },
    });
    this.#fps = options.fps;
    this.#bitrateKbps = options.videoBitrateKbps;
  }

  /** Paint the frame stamp into each frame from the next one (default off; the player's overlay or a benchmark asks). */
  stamps = false;

  /** Frame rate being encoded (the game's, or a lower ladder rung's). */
  get fps(): number {
    return this.#fps;
  }

  /** The bandwidth adaptation's state, when congestion control runs for this session. */
  get rateControl(): VideoRateControlStats | undefined {
    return this.#rateControl?.stats();
  }

  /** The player negotiated the Dependency Descriptor (known once started): every video packet carries one. */
  get dependencyDescriptor(): boolean {
    return this.#extensions.dependencyDescriptor;
  }

  /** Video frames not encoded because the pacer still held more than ~120 ms of video. */
  get droppedCongested(): number {
    return this.#droppedCongested;
  }

  /** Encoded video frames a keyframe replaced while they were still queued in the pacer (not all sent). */
  get superseded(): number {
    return this.#superseded;
  }

  get width(): number {
    return this.#slot.width;
  }

  get height(): number {
    return this.#slot.height;
  }

  /** The video's current target bitrate, kbit/s. */
  get bitrateKbps(): number {
    return this.#bitrateKbps;
  }

  /** Encoders opened for another size since start (player resizes and ladder steps). */
  get reopens(): number {
    return this.#slot.reopens;
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
    const video = await this.#openVideo(this.#videoOptions(this.width, this.height, this.#bitrateKbps));
    if (this.#closed) return video.close();
    this.#slot.install(video);
    const audio = await OpusEncoder.open(this.#options.audioBitrateKbps);
    if (this.#closed) return audio.close();
    this.#audio = audio;
  }

  /**
   * Starts sending on the negotiated senders: looks the header extension ids up once, listens to the
   * player's RTCP, then runs the pacers (pull source) or attaches the frame sink (push source). `fec`: the
   * RED/ULPFEC payload types the player negotiated (used when the rate control settings ask for FEC and
   * the player negotiated the Dependency Descriptor too).
   */
  start(video: RTCRtpSender, audio: RTCRtpSender | undefined, fec?: FecPayloadTypes): void {
    if (this.#closed || this.#started) return;
    this.#started = true;
    this.#videoSender = video;
    this.#audioSender = audio;
    this.#extensions = new FrameExtensions({
      captureTime: negotiatedExtensionId(video, ABS_CAPTURE_TIME_URI),
      playoutDelay: this.#options.zeroPlayoutDelay
        ? negotiatedExtensionId(video, PLAYOUT_DELAY_URI)
        : undefined,
      dependencyDescriptor: negotiatedExtensionId(video, DEPENDENCY_DESCRIPTOR_URI),
    });
    this.#keyframeRequested = true;
    video.onPictureLossIndication.subscribe(() => {
      this.#keyframeWanted = true;
      this.#stats.recordPli();
    });
    this.#startRateControl(video, audio, fec);
    video.onRtcp.subscribe((packet) => {
      if (recordVideoRtcp(video, packet, this.#stats) === 'keyframe') this.#keyframeWanted = true;
    });
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

  /** Stops sending video and audio (the game, encoders and peer stay); `resume()` starts again with a keyframe. */
  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#keyframeRequested = true;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** The next frame is an IDR. */
  requestKeyframe(): void {
    this.#keyframeRequested = true;
  }

  /**
   * Changes the video bitrate from the next frame, on the running encoder (libx264 and NVENC
   * reconfigure between frames: no re-open, no keyframe).
   */
  setBitrate(kbps: number): void {
    this.#bitrateKbps = kbps;
    this.#slot.setBitrate(this.#encoderKbps());
  }

  /**
   * What the encoder is told: the encoder always runs at the game's rate, and its rate control spends
   * bitrate ÷ its fps per frame whatever the timestamps say (x264 does), so a lower-fps rung, which
   * encodes one frame in `#decimate`, gives it the target × `#decimate` to keep the target per second.
   */
  #encoderKbps(): number {
    return this.#bitrateKbps * this.#decimate;
  }

  /** A lower (or the full) frame rate: frames are skipped, the encoder stays (no re-open, no keyframe). */
  #setFps(fps: number): void {
    const decimate = Math.max(1, Math.round(this.#options.fps / fps));
    this.#fps = fps;
    if (decimate === this.#decimate) return;
    this.#decimate = decimate;
    this.#slot.setBitrate(this.#encoderKbps());
  }

  /**
   * The player's bitrate cap (kbit/s, already clamped; null = auto). Under congestion control the
   * estimate moves the bitrate below it; without, the bitrate is the cap (auto: the start bitrate).
   */
  setCap(kbps: number | null): void {
    this.#capKbps = kbps;
    if (this.#rateControl) this.#rateControl.setCap(kbps);
    else this.setBitrate(kbps ?? this.#options.videoBitrateKbps);
  }

  /**
   * Opens an encoder of the new size in the background while the current one keeps encoding, then swaps
   * it in before the next frame (the source draws at the new size from it, which is a keyframe): no frame
   * is skipped for the re-open. At most one re-open per RESIZE_INTERVAL_MS; a resize sooner waits for
   * the interval to end and only the latest waiting size is opened. A resize to the current size does
   * nothing. Throws the encoder's FarplayError when the new one does not open (the old one keeps
   * running; a waiting resize that fails is logged).
   */
  async resize(width: number, height: number): Promise<void> {
    if (this.#closed) return;
    const fps = this.#options.fps;
    await this.#slot.resize(width, height, () => {
      this.#setFps(fps);
      this.#rateControl?.setTop({ width, height, fps });
    });
  }

  #startRateControl(video: RTCRtpSender, audio: RTCRtpSender | undefined, fec?: FecPayloadTypes): void {
    const settings = this.#options.rateControl;
    if (!settings || negotiatedExtensionId(video, TRANSPORT_CC_URI) === undefined) return;
    const control = new VideoRateControl({
      video,
      ...(audio ? { others: [audio] } : {}),
      clock: this.#clock,
      startKbps: this.#options.videoBitrateKbps,
      minKbps: settings.minKbps,
      maxKbps: settings.maxKbps,
      audioKbps: this.#options.audioBitrateKbps,
      top: { width: this.width, height: this.height, fps: this.#options.fps },
      adaptResolution: settings.adaptResolution,
      // Only with the Dependency Descriptor: without it Chromium's H.264 reference finder counts each
      // FEC packet as padding and can strand a frame waiting for a repair (edge/README.md).
      ...(settings.fec && fec && this.#extensions.dependencyDescriptor ? { fec } : {}),
      setBitrate: (kbps) => this.setBitrate(kbps),
      requestKeyframe: () => {
        this.#keyframeWanted = true;
      },
      setRung: async (rung: QualityRung) => {
        // The frame rate needs no new encoder; another size does (unless it is already waiting).
        const reopened = await this.#slot.openRung(rung.width, rung.height);
        this.#setFps(rung.fps);
        return reopened;
      },
      logger: this.#log,
    });
    this.#rateControl = control;
    control.on('quality', (report) => this.emit('quality', report));
    if (this.#capKbps !== null) control.setCap(this.#capKbps);
  }

  /** Stops the pacers, detaches a push source, closes the encoders; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#videoPacer?.stop();
    this.#audioPacer?.stop();
    this.#rateControl?.close();
    if (this.#started && this.#source.delivery === 'push') this.#source.detach();
    this.#slot.close();
    this.#audio?.close();
  }

  /** The encoder always runs at the game's rate (a lower-fps rung skips frames, see `#encoderKbps`). */
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

  async #pullVideoFrame(): Promise<void> {
    const source = this.#source;
    if (source.delivery !== 'pull') return;
    if (this.#closed) return;
    const encoder = this.#slot.swap();
    if (!encoder) return;
    // A lower-fps rung: the clock keeps the game's rate, only every n-th slot is encoded.
    if (this.#decimate > 1 && this.#pullSlot++ % this.#decimate !== 0) return;
    const started = this.#clock.now();
    const captureTimeMs = this.#options.wallClock();
    const planes = encoder.planes;
    source.renderFrame(planes, started);
    await this.#encodeAndSend(encoder, planes, started, captureTimeMs);
  }

  #pushVideoFrame(frame: PushedFrame): void {
    if (this.#closed) return;
    const encoder = this.#slot.swap();
    if (!encoder) return;
    if (encoder.busy) {
      this.#pushDroppedBusy++;
      return;
    }
    const started = this.#clock.now();
    // A lower-fps rung: frames closer than ~the rung's interval to the last encoded one are skipped.
    if (this.#fps < this.#options.fps && started - this.#lastPushEncodeMs < 800 / this.#fps) return;
    this.#lastPushEncodeMs = started;
    const captureTimeMs = frame.captureTimeMs ?? this.#options.wallClock();
    const planes = encoder.planes;
    try {
      frame.draw(planes);
    } catch (error) {
      this.#log.warn({ err: error }, 'a pushed frame failed to draw');
      return;
    }
    if (frame.convertMs !== undefined)
      this.#stats.recordCapture(frame.convertMs + this.#clock.now() - started);
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
    if (!sender || this.#paused) return;
    const control = this.#rateControl;
    if (control && !control.admitFrame()) {
      this.#droppedCongested++;
      return;
    }
    const frame = this.#frameNumber++;
    if (this.stamps) writeFrameStamp(planes, { frame, captureTimeMs, inputSeq: this.#stats.lastInputSeq });
    const keyframe =
      this.#keyframeRequested ||
      (this.#keyframeWanted && started - this.#lastKeyframeMs >= KEYFRAME_MIN_INTERVAL_MS);
    if (keyframe) {
      this.#keyframeRequested = false;
      this.#keyframeWanted = false;
      this.#lastKeyframeMs = started;
    }
    const rtpTimestamp = (this.#rtpBase + Math.round(started * (VIDEO_CLOCK_RATE / 1000))) >>> 0;
    const encodeStart = this.#clock.now();
    const unit = await encoder.encode(rtpTimestamp, keyframe);
    const encodeMs = this.#clock.now() - encodeStart;
    this.#stats.recordEncoded(encodeMs, unit !== null);
    control?.recordEncode(encodeMs);
    if (!unit || this.#closed) return;
    const packets = this.#packetizer.packetize(unit, rtpTimestamp);
    const idr = isIdrAccessUnit(unit);
    this.#extensions.stamp(packets, captureTimeMs, idr);
    if (control) {
      // Paced: the frame loop goes on while its packets leave; the stats count it once they have, or
      // as superseded when a keyframe (asked for, or a new encoder's first) replaced it in the queue.
      const bytes = unit.length;
      void control.sendFrame(packets, bytes, keyframe || idr).then((sent) => {
        if (sent) this.#stats.recordSent(bytes, this.#clock.now() - started, keyframe);
        else if (!this.#closed) this.#superseded++;
      });
      return;
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
    if (this.#paused) return;
    const pts = this.#audioSamples;
    this.#audioSamples += OPUS_FRAME_SAMPLES;
    const packet = await encoder.encode(pts);
    if (!packet || this.#closed) return;
    const rtpTimestamp = (this.#rtpBase + pts) >>> 0;
    for (const rtp of this.#opusPacketizer.packetize(packet, rtpTimestamp)) await sender.sendRtp(rtp);
    this.#stats.recordAudioPacket();
  }
}
