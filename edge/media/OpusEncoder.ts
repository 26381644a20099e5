import {
  AV_CHANNEL_LAYOUT_MONO,
  AV_SAMPLE_FMT_S16,
  AVERROR_EAGAIN,
  AVERROR_EOF,
  type FFEncoderCodec,
} from 'node-av/constants';
import { Codec, CodecContext, Dictionary, FFmpegError, Frame, Packet, Rational } from 'node-av/lib';
import { FarplayError } from '../../protocol/errors.js';
import { GAME_AUDIO_SAMPLE_RATE } from '../games/GameRuntime.js';
import { releaseWhenIdle } from './releaseWhenIdle.js';

/** Samples per Opus frame: 20 ms at 48 kHz. */
export const OPUS_FRAME_SAMPLES = 960;

/**
 * Opus encoder (libopus through node-av) for the games' mono 48 kHz PCM, 20 ms per packet, low-delay
 * mode. Callers fill `pcm` (OPUS_FRAME_SAMPLES samples) and call `encode()`.
 */
export class OpusEncoder {
  readonly #context: CodecContext;
  readonly #frame: Frame;
  readonly #packet: Packet;
  /** The next 20 ms of PCM to encode (a view over the encoder's frame). */
  readonly pcm: Int16Array;
  #closed = false;
  #busy = false;

  private constructor(context: CodecContext, frame: Frame) {
    this.#context = context;
    this.#frame = frame;
    // Checked first: when it throws, no packet has been allocated yet (open() frees the rest).
    const data = frame.data?.[0];
    if (!data) throw new FarplayError('EDGE_ENCODER_FAILED', 'opus frame has no buffer');
    this.pcm = new Int16Array(data.buffer, data.byteOffset, OPUS_FRAME_SAMPLES);
    this.#packet = new Packet();
    this.#packet.alloc();
  }

  /** Opens libopus. Throws FarplayError `EDGE_ENCODER_FAILED`. */
  static async open(bitrateKbps: number): Promise<OpusEncoder> {
    const codec = Codec.findEncoderByName('libopus' as FFEncoderCodec);
    if (!codec) throw new FarplayError('EDGE_ENCODER_FAILED', 'libopus is not in this FFmpeg');
    const context = new CodecContext();
    context.allocContext3(codec);
    context.sampleRate = GAME_AUDIO_SAMPLE_RATE;
    context.channelLayout = AV_CHANNEL_LAYOUT_MONO;
    context.sampleFormat = AV_SAMPLE_FMT_S16;
    context.timeBase = new Rational(1, GAME_AUDIO_SAMPLE_RATE);
    context.bitRate = BigInt(bitrateKbps * 1000);
    const options = Dictionary.fromObject({ application: 'lowdelay', frame_duration: '20', vbr: 'on' });
    let ret: number;
    try {
      ret = await context.open2(codec, options);
    } catch (cause) {
      context.freeContext();
      throw new FarplayError('EDGE_ENCODER_FAILED', 'libopus failed to open', { cause });
    } finally {
      options.free();
    }
    if (ret < 0) {
      context.freeContext();
      throw new FarplayError('EDGE_ENCODER_FAILED', `libopus failed to open: ${FFmpegError.strerror(ret)}`);
    }
    const frame = new Frame();
    frame.alloc();
    frame.nbSamples = OPUS_FRAME_SAMPLES;
    frame.format = AV_SAMPLE_FMT_S16;
    frame.channelLayout = AV_CHANNEL_LAYOUT_MONO;
    frame.sampleRate = GAME_AUDIO_SAMPLE_RATE;
    const bufferRet = frame.getBuffer(0);
    if (bufferRet < 0) {
      frame.free();
      context.freeContext();
      throw new FarplayError('EDGE_ENCODER_FAILED', `opus frame: ${FFmpegError.strerror(bufferRet)}`);
    }
    try {
      return new OpusEncoder(context, frame);
    } catch (error) {
      frame.free();
      context.freeContext();
      throw error;
    }
  }

  get busy(): boolean {
    return this.#busy;
  }

  /** Encodes `pcm` at `pts` (48 kHz samples); resolves to one Opus packet, or null while it primes. */
  async encode(pts: number): Promise<Buffer | null> {
    if (this.#closed || this.#busy) return null;
    this.#busy = true;
    try {
      this.#frame.pts = BigInt(pts);
      const sent = await this.#context.sendFrame(this.#frame);
      if (this.#closed) return null;
      if (sent < 0 && sent !== AVERROR_EAGAIN) {
        throw new FarplayError('EDGE_ENCODER_FAILED', `libopus: ${FFmpegError.strerror(sent)}`);
      }
      let out: Buffer | null = null;
      for (;;) {
        const received = await this.#context.receivePacket(this.#packet);
        if (this.#closed) return null;
        if (received === AVERROR_EAGAIN || received === AVERROR_EOF) break;
        if (received < 0)
          throw new FarplayError('EDGE_ENCODER_FAILED', `libopus: ${FFmpegError.strerror(received)}`);
        out = this.#packet.data;
        this.#packet.unref();
      }
      return out;
    } finally {
      this.#busy = false;
    }
  }

  /** Frees the encoder; idempotent, safe while an encode is in flight. */
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
