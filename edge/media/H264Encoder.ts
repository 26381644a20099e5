import {
  AV_LOG_ERROR,
  AV_PICTURE_TYPE_I,
  AV_PICTURE_TYPE_NONE,
  AV_PIX_FMT_YUV420P,
  AVERROR_EAGAIN,
  AVERROR_EOF,
  type FFEncoderCodec,
} from 'node-av/constants';
import { Codec, CodecContext, Dictionary, FFmpegError, Frame, Log, Packet, Rational } from 'node-av/lib';
import { FarplayError } from '../../protocol/errors.js';
import type { YuvPlanes } from '../../protocol/frameStamp.js';
import { releaseWhenIdle } from './releaseWhenIdle.js';

// FFmpeg's own chatter (x264 stats on close, NVENC "cannot load libcuda") is not ours to print.
Log.setLevel(AV_LOG_ERROR);

/** RTP clock of H.264 video. */
export const VIDEO_CLOCK_RATE = 90_000;

export interface H264EncoderOptions {
  /** FFmpeg encoder name: 'libx264', 'h264_nvenc', ... */
  codec: string;
  width: number;
  height: number;
  fps: number;
  bitrateKbps: number;
  /** Encoder threads; 0 = the encoder's choice (default 1). */
  threads?: number;
}

/** Low-latency private options per encoder. Unknown encoders get none. */
function encoderPrivateOptions(codec: string, gop: number): Record<string, string> {
  switch (codec) {
    case 'libx264':
      // ultrafast + zerolatency: no lookahead, no B-frames, no CABAC → constrained baseline.
      return {
        preset: 'ultrafast',
        tune: 'zerolatency',
        profile: 'baseline',
        'forced-idr': '1',
        'x264-params': `repeat-headers=1:keyint=${gop}:min-keyint=${gop}:scenecut=0:aud=0`,
      };
    case 'h264_nvenc':
      return {
        preset: 'p1',
        tune: 'ull',
        rc: 'cbr',
        zerolatency: '1',
        delay: '0',
        'forced-idr': '1',
        profile: 'baseline',
      };
    default:
      return {};
  }
}

/**
 * One H.264 encoder (node-av / FFmpeg) with its own input frame in I420: callers draw into `planes`,
 * then `encode()` returns the Annex-B access unit. Opened through the async path (node-av 6.1.1's
 * sync open crashes later); encode runs on libuv's thread pool, so several sessions use several cores.
 */
export class H264Encoder {
  readonly codec: string;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly #context: CodecContext;
  readonly #frame: Frame;
  readonly #packet: Packet;
  #planes: YuvPlanes;
  #bitrateKbps: number;
  #closed = false;
  #busy = false;

  private constructor(options: H264EncoderOptions, context: CodecContext, frame: Frame) {
    this.codec = options.codec;
    this.width = options.width;
    this.height = options.height;
    this.fps = options.fps;
    this.#bitrateKbps = options.bitrateKbps;
    this.#context = context;
    this.#frame = frame;
    // Planes first: when they throw, no packet has been allocated yet (open() frees the rest).
    this.#planes = H264Encoder.#planesOf(frame, options.width, options.height);
    this.#packet = new Packet();
    this.#packet.alloc();
  }

  /** Opens `options.codec`. Throws FarplayError `EDGE_NO_ENCODER` when it does not exist or does not open. */
  static async open(options: H264EncoderOptions): Promise<H264Encoder> {
    const codec = Codec.findEncoderByName(options.codec as FFEncoderCodec);
    if (!codec) throw new FarplayError('EDGE_NO_ENCODER', `encoder ${options.codec} is not in this FFmpeg`);
    const context = new CodecContext();
    context.allocContext3(codec);
    const gop = Math.max(1, Math.round(options.fps * 10));
    context.width = options.width;
    context.height = options.height;
    context.pixelFormat = AV_PIX_FMT_YUV420P;
    context.timeBase = new Rational(1, VIDEO_CLOCK_RATE);
    context.framerate = new Rational(options.fps, 1);
    context.gopSize = gop;
    context.maxBFrames = 0;
    context.threadCount = options.threads ?? 1;
    H264Encoder.#applyBitrate(context, options.bitrateKbps, options.fps);
    const dictionary = Dictionary.fromObject(encoderPrivateOptions(options.codec, gop));
    let ret: number;
    try {
      ret = await context.open2(codec, dictionary);
    } catch (cause) {
      context.freeContext();
      throw new FarplayError('EDGE_NO_ENCODER', `encoder ${options.codec} failed to open`, { cause });
    } finally {
      dictionary.free();
    }
    if (ret < 0) {
      context.freeContext();
      throw new FarplayError(
        'EDGE_NO_ENCODER',
        `encoder ${options.codec} failed to open: ${FFmpegError.strerror(ret)}`,
      );
    }
    const frame = new Frame();
    frame.alloc();
    frame.width = options.width;
    frame.height = options.height;
    frame.format = AV_PIX_FMT_YUV420P;
    const bufferRet = frame.getBuffer(32);
    if (bufferRet < 0) {
      frame.free();
      context.freeContext();
      throw new FarplayError('EDGE_ENCODER_FAILED', `frame buffer: ${FFmpegError.strerror(bufferRet)}`);
    }
    try {
      return new H264Encoder(options, context, frame);
    } catch (error) {
      frame.free();
      context.freeContext();
      throw error;
    }
  }

  static #applyBitrate(context: CodecContext, kbps: number, fps: number): void {
    const bps = BigInt(Math.round(kbps * 1000));
    context.bitRate = bps;
    context.rcMaxRate = bps;
    // A VBV of a few frames keeps every frame near the average size: low queueing delay on the wire.
    context.rcBufferSize = Math.round((kbps * 1000 * 4) / Math.max(1, fps));
  }

  static #planesOf(frame: Frame, width: number, height: number): YuvPlanes {
    const data = frame.data;
    const lines = frame.linesize;
    const [y, u, v] = [data?.[0], data?.[1], data?.[2]];
    if (!y || !u || !v) throw new FarplayError('EDGE_ENCODER_FAILED', 'encoder frame has no planes');
    return {
      width,
      height,
      y,
      u,
      v,
      strideY: lines[0] ?? width,
      strideU: lines[1] ?? width >> 1,
      strideV: lines[2] ?? width >> 1,
    };
  }

  /** The frame to draw the next picture into (valid until the next `encode` resolves). */
  get planes(): YuvPlanes {
    if (!this.#frame.isWritable) {
      // The encoder still references the buffer (never seen with x264): copy-on-write, then re-map.
      this.#frame.makeWritable();
      this.#planes = H264Encoder.#planesOf(this.#frame, this.width, this.height);
    }
    return this.#planes;
  }

  /** True while an `encode` is in flight. */
  get busy(): boolean {
    return this.#busy;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get bitrateKbps(): number {
    return this.#bitrateKbps;
  }

  /** Changes the target bitrate; applies from the next frame (x264 and NVENC reconfigure on the fly). */
  setBitrate(kbps: number): void {
    if (this.#closed) return;
    this.#bitrateKbps = kbps;
    H264Encoder.#applyBitrate(this.#context, kbps, this.fps);
  }

  /**
   * Encodes what was drawn into `planes` with presentation time `pts` (90 kHz). `keyframe` forces an IDR.
   * Resolves to the Annex-B access unit, or null when the encoder produced nothing for this frame.
   * Throws FarplayError `EDGE_ENCODER_FAILED`.
   */
  async encode(pts: number, keyframe: boolean): Promise<Buffer | null> {
    if (this.#closed) throw new FarplayError('EDGE_ENCODER_FAILED', 'encoder is closed');
    if (this.#busy) throw new FarplayError('EDGE_ENCODER_FAILED', 'encoder is busy');
    this.#busy = true;
    try {
      const frame = this.#frame;
      frame.pts = BigInt(pts);
      frame.pictType = keyframe ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
      const sent = await this.#context.sendFrame(frame);
      if (this.#closed) return null;
      if (sent < 0 && sent !== AVERROR_EAGAIN) {
        throw new FarplayError('EDGE_ENCODER_FAILED', `${this.codec}: ${FFmpegError.strerror(sent)}`);
      }
      // libx264 (and FFmpeg's other encode2-style encoders) encode inside send_frame and park the result:
      // receiving it is a cheap move, done here synchronously instead of two more thread-pool round
      // trips (the second one only to learn EAGAIN), ~0.1-0.3 ms each on a busy machine.
      let unit: Buffer | null = null;
      for (;;) {
        const received = this.#context.receivePacketSync(this.#packet);
        if (received === AVERROR_EAGAIN || received === AVERROR_EOF) break;
        if (received < 0) {
          throw new FarplayError('EDGE_ENCODER_FAILED', `${this.codec}: ${FFmpegError.strerror(received)}`);
        }
        const data = this.#packet.data;
        if (data) unit = unit ? Buffer.concat([unit, data]) : data;
        this.#packet.unref();
      }
      return unit;
    } finally {
      this.#busy = false;
    }
  }

  /** Frees the encoder and its frame; idempotent. Safe while an encode is in flight (it resolves null). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const release = (): void => {
      this.#packet.free();
      this.#frame.free();
      this.#context.freeContext();
    };
    releaseWhenIdle(() => this.#busy, release);
  }
}
