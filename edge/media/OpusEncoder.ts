import { AV_CHANNEL_LAYOUT_MONO, AV_SAMPLE_FMT_S16 } from 'node-av/constants';
import { type CodecContext, type Frame, Rational } from 'node-av/lib';
import { FarplayError } from '../../protocol/errors.js';
import { GAME_AUDIO_SAMPLE_RATE } from '../games/GameRuntime.js';
import { FFmpegEncoder } from './FFmpegEncoder.js';

/** Samples per Opus frame: 20 ms at 48 kHz. */
export const OPUS_FRAME_SAMPLES = 960;

/**
 * Opus encoder (libopus, FFmpegEncoder) for the games' mono 48 kHz PCM, 20 ms per packet, low-delay
 * mode. Callers fill `pcm` (OPUS_FRAME_SAMPLES samples) and call `encode()`.
 */
export class OpusEncoder extends FFmpegEncoder {
  /** The next 20 ms of PCM to encode (a view over the encoder's frame). */
  readonly pcm: Int16Array;

  private constructor(context: CodecContext, frame: Frame) {
    // Checked first: when it throws, nothing else has been allocated yet (open() frees the rest).
    const data = frame.data?.[0];
    if (!data) throw new FarplayError('EDGE_ENCODER_FAILED', 'opus frame has no buffer');
    super('libopus', context, frame);
    this.pcm = new Int16Array(data.buffer, data.byteOffset, OPUS_FRAME_SAMPLES);
  }

  /** Opens libopus. Throws FarplayError `EDGE_ENCODER_FAILED`. */
  static async open(bitrateKbps: number): Promise<OpusEncoder> {
    return FFmpegEncoder.openEncoder({
      codec: 'libopus',
      openFailedCode: 'EDGE_ENCODER_FAILED',
      configureContext: (context) => {
        context.sampleRate = GAME_AUDIO_SAMPLE_RATE;
        context.channelLayout = AV_CHANNEL_LAYOUT_MONO;
        context.sampleFormat = AV_SAMPLE_FMT_S16;
        context.timeBase = new Rational(1, GAME_AUDIO_SAMPLE_RATE);
        context.bitRate = BigInt(bitrateKbps * 1000);
      },
      privateOptions: { application: 'lowdelay', frame_duration: '20', vbr: 'on' },
      configureFrame: (frame) => {
        frame.nbSamples = OPUS_FRAME_SAMPLES;
        frame.format = AV_SAMPLE_FMT_S16;
        frame.channelLayout = AV_CHANNEL_LAYOUT_MONO;
        frame.sampleRate = GAME_AUDIO_SAMPLE_RATE;
      },
      frameAlign: 0,
      build: (context, frame) => new OpusEncoder(context, frame),
    });
  }

  /**
   * Encodes `pcm` at `pts` (48 kHz samples); resolves to one Opus packet, or null while it primes.
   * Throws FarplayError `EDGE_ENCODER_FAILED` (also when busy or closed).
   */
  async encode(pts: number): Promise<Buffer | null> {
    const packets = await this.encodeFrame(pts);
    return packets.at(-1) ?? null;
  }
}
