import { AV_LOG_ERROR, AV_PICTURE_TYPE_I, AV_PICTURE_TYPE_NONE, AV_PIX_FMT_YUV420P } from 'node-av/constants';
import { type CodecContext, type Frame, Log, Rational } from 'node-av/lib';
import { FarplayError } from '../../protocol/errors.js';
import type { YuvPlanes } from '../../protocol/frameStamp.js';
import { FFmpegEncoder } from './FFmpegEncoder.js';

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
 * One H.264 encoder (FFmpegEncoder) with its own input frame in I420: callers draw into `planes`, then
 * `encode()` returns the Annex-B access unit.
 */
export class H264Encoder extends FFmpegEncoder {
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  #planes: YuvPlanes;
  #bitrateKbps: number;

  private constructor(options: H264EncoderOptions, context: CodecContext, frame: Frame) {
    // Planes first: when they throw, nothing else has been allocated yet (open() frees the rest).
    const planes = H264Encoder.#planesOf(frame, options.width, options.height);
    super(options.codec, context, frame);
    this.#planes = planes;
    this.width = options.width;
    this.height = options.height;
    this.fps = options.fps;
    this.#bitrateKbps = options.bitrateKbps;
  }

  /** Opens `options.codec`. Throws FarplayError `EDGE_NO_ENCODER` when it does not exist or does not open. */
  static async open(options: H264EncoderOptions): Promise<H264Encoder> {
    const gop = Math.max(1, Math.round(options.fps * 10));
    return FFmpegEncoder.openEncoder({
      codec: options.codec,
      openFailedCode: 'EDGE_NO_ENCODER',
      configureContext: (context) => {
        context.width = options.width;
        context.height = options.height;
        context.pixelFormat = AV_PIX_FMT_YUV420P;
        context.timeBase = new Rational(1, VIDEO_CLOCK_RATE);
        context.framerate = new Rational(options.fps, 1);
        context.gopSize = gop;
        context.maxBFrames = 0;
        context.threadCount = options.threads ?? 1;
        H264Encoder.#applyBitrate(context, options.bitrateKbps, options.fps);
      },
      privateOptions: encoderPrivateOptions(options.codec, gop),
      configureFrame: (frame) => {
        frame.width = options.width;
        frame.height = options.height;
        frame.format = AV_PIX_FMT_YUV420P;
      },
      frameAlign: 32,
      build: (context, frame) => new H264Encoder(options, context, frame),
    });
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
    if (!this.frame.isWritable) {
      // The encoder still references the buffer (never seen with x264): copy-on-write, then re-map.
      this.frame.makeWritable();
      this.#planes = H264Encoder.#planesOf(this.frame, this.width, this.height);
    }
    return this.#planes;
  }

  get bitrateKbps(): number {
    return this.#bitrateKbps;
  }

  /** Changes the target bitrate; applies from the next frame (x264 and NVENC reconfigure on the fly). */
  setBitrate(kbps: number): void {
    if (this.closed) return;
    this.#bitrateKbps = kbps;
    H264Encoder.#applyBitrate(this.context, kbps, this.fps);
  }

  /**
   * Encodes what was drawn into `planes` with presentation time `pts` (90 kHz). `keyframe` forces an IDR.
   * Resolves to the Annex-B access unit, or null when the encoder produced nothing for this frame.
   * Throws FarplayError `EDGE_ENCODER_FAILED` (also when busy or closed).
   */
  async encode(pts: number, keyframe: boolean): Promise<Buffer | null> {
    if (!this.closed) this.frame.pictType = keyframe ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
    const packets = await this.encodeFrame(pts);
    if (packets.length === 0) return null;
    return packets.length === 1 ? (packets[0] as Buffer) : Buffer.concat(packets);
  }
}
