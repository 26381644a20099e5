import { AVERROR_EAGAIN, AVERROR_EOF, type FFEncoderCodec } from 'node-av/constants';
import { Codec, CodecContext, Dictionary, FFmpegError, Frame, Packet } from 'node-av/lib';
import { type ErrorCode, FarplayError } from '../../protocol/errors.js';
import { releaseWhenIdle } from './releaseWhenIdle.js';

/** How `FFmpegEncoder.openEncoder` opens one encoder. */
export interface OpenEncoderParameters<T> {
  /** FFmpeg encoder name, e.g. 'libx264', 'h264_nvenc', 'libopus'. */
  codec: string;
  /** Code thrown when the encoder is missing or does not open (EDGE_NO_ENCODER for video). */
  openFailedCode: ErrorCode;
  /** Sets size, format, time base, rate control… on the fresh context. */
  configureContext(context: CodecContext): void;
  /** Encoder private options (preset, tune, application…). */
  privateOptions: Record<string, string>;
  /** Sets the input frame's format and size before its buffer is allocated. */
  configureFrame(frame: Frame): void;
  /** Buffer alignment of the input frame (0 = FFmpeg's default). */
  frameAlign: number;
  /** Builds the encoder object; when it throws, the frame and the context are freed. */
  build(context: CodecContext, frame: Frame): T;
}

/**
 * One FFmpeg encoder (node-av) with its own input frame: the open/drain/close and busy behaviour every
 * encoder of the edge shares. Open goes through the async path (node-av 6.1.1's sync open crashes
 * later); `encodeFrame` runs on libuv's thread pool, so several sessions use several cores. Only one
 * encode may be in flight: a second one throws `EDGE_ENCODER_FAILED` ('busy'), as does one after close.
 * `close()` is idempotent and defers freeing until a running encode has returned.
 */
export abstract class FFmpegEncoder {
  /** FFmpeg encoder name. */
  readonly codec: string;
  protected readonly context: CodecContext;
  protected readonly frame: Frame;
  readonly #packet: Packet;
  #closed = false;
  #busy = false;

  protected constructor(codec: string, context: CodecContext, frame: Frame) {
    this.codec = codec;
    this.context = context;
    this.frame = frame;
    this.#packet = new Packet();
    this.#packet.alloc();
  }

  /**
   * Finds, configures and opens `parameters.codec` and allocates its input frame. Frees everything it
   * allocated on every failure path. Throws FarplayError `openFailedCode` or `EDGE_ENCODER_FAILED`.
   */
  protected static async openEncoder<T>(parameters: OpenEncoderParameters<T>): Promise<T> {
    const { codec: name, openFailedCode } = parameters;
    const codec = Codec.findEncoderByName(name as FFEncoderCodec);
    if (!codec) throw new FarplayError(openFailedCode, `encoder ${name} is not in this FFmpeg`);
    const context = new CodecContext();
    context.allocContext3(codec);
    parameters.configureContext(context);
    const dictionary = Dictionary.fromObject(parameters.privateOptions);
    let ret: number;
    try {
      ret = await context.open2(codec, dictionary);
    } catch (cause) {
      context.freeContext();
      throw new FarplayError(openFailedCode, `encoder ${name} failed to open`, { cause });
    } finally {
      dictionary.free();
    }
    if (ret < 0) {
      context.freeContext();
      throw new FarplayError(openFailedCode, `encoder ${name} failed to open: ${FFmpegError.strerror(ret)}`);
    }
    const frame = new Frame();
    frame.alloc();
    parameters.configureFrame(frame);
    const bufferRet = frame.getBuffer(parameters.frameAlign);
    if (bufferRet < 0) {
      frame.free();
      context.freeContext();
      throw new FarplayError(
        'EDGE_ENCODER_FAILED',
        `${name} frame buffer: ${FFmpegError.strerror(bufferRet)}`,
      );
    }
    try {
      return parameters.build(context, frame);
    } catch (error) {
      frame.free();
      context.freeContext();
      throw error;
    }
  }

  /** True while an encode is in flight. */
  get busy(): boolean {
    return this.#busy;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends the input frame (already filled) with presentation time `pts` and drains every packet the
   * encoder has ready. Resolves to the packets in order (none while the encoder primes, or when it was
   * closed meanwhile). Throws FarplayError `EDGE_ENCODER_FAILED` (closed, busy, or an FFmpeg error).
   */
  protected async encodeFrame(pts: number): Promise<Buffer[]> {
    if (this.#closed) throw new FarplayError('EDGE_ENCODER_FAILED', `${this.codec}: encoder is closed`);
    if (this.#busy) throw new FarplayError('EDGE_ENCODER_FAILED', `${this.codec}: encoder is busy`);
    this.#busy = true;
    try {
      this.frame.pts = BigInt(pts);
      const sent = await this.context.sendFrame(this.frame);
      if (this.#closed) return [];
      if (sent < 0 && sent !== AVERROR_EAGAIN) {
        throw new FarplayError('EDGE_ENCODER_FAILED', `${this.codec}: ${FFmpegError.strerror(sent)}`);
      }
      // libx264, libopus (FFmpeg's encode2-style encoders) encode inside send_frame and park the result:
      // receiving it is a cheap move, done here synchronously instead of more thread-pool round trips
      // (the last one only to learn EAGAIN), ~0.1-0.3 ms each on a busy machine.
      const packets: Buffer[] = [];
      for (;;) {
        const received = this.context.receivePacketSync(this.#packet);
        if (received === AVERROR_EAGAIN || received === AVERROR_EOF) break;
        if (received < 0) {
          throw new FarplayError('EDGE_ENCODER_FAILED', `${this.codec}: ${FFmpegError.strerror(received)}`);
        }
        const data = this.#packet.data;
        if (data) packets.push(data);
        this.#packet.unref();
      }
      return packets;
    } finally {
      this.#busy = false;
    }
  }

  /** Frees the encoder, its frame and packet; idempotent. Safe while an encode is in flight. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    releaseWhenIdle(
      () => this.#busy,
      () => {
        this.#packet.free();
        this.frame.free();
        this.context.freeContext();
      },
    );
  }
}
