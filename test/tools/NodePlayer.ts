import { AVERROR_EAGAIN, AVERROR_EOF, type FFDecoderCodec } from 'node-av/constants';
import { Codec, CodecContext, Frame, Packet } from 'node-av/lib';
import { StreamReceiver, type StreamReceiverOptions } from '../../edge/operator/StreamReceiver.js';
import { type FrameStamp, readFrameStampLuma } from '../../protocol/frameStamp.js';

export type { UnsequencedInput } from '../../edge/operator/StreamReceiver.js';

export interface NodePlayerOptions extends StreamReceiverOptions {
  /**
   * Decode the H.264 (node-av) and read each frame's stamp (default false: count frames only). A decoding
   * player asks the edge for stamps unless `stamps` is false.
   */
  decode?: boolean;
  /** Rewrites the SDP answer before it is sent (abuse tests: name candidates the player does not have). */
  answerSdp?: (sdp: string) => string;
  /** Called for every decoded frame's stamp (decode mode). */
  onStamp?: (stamp: FrameStamp, receivedAtMs: number) => void;
  /** Called with every decoded frame's luma plane (decode mode; valid only during the call). */
  onDecodedFrame?: (luma: Uint8Array, stride: number, width: number, height: number) => void;
}

/**
 * A headless player in Node for tests and benches: the edge's StreamReceiver (signalling, werift peer, access
 * units, input channel) plus optional H.264 decoding with node-av that reads every frame's stamp.
 */
export class NodePlayer extends StreamReceiver {
  framesDecoded = 0;
  /** Stamps read from decoded frames (decode mode), in order. */
  readonly stamps: FrameStamp[] = [];
  readonly #options: NodePlayerOptions;
  #decoder: CodecContext | undefined;
  #decoderReady: Promise<void> | undefined;
  #decodeQueue: Buffer[] = [];
  #decoding = false;
  #closedFlag = false;

  constructor(options: NodePlayerOptions) {
    super({ ...options, stamps: options.stamps ?? options.decode ?? false });
    this.#options = options;
    if (options.decode) {
      this.#decoderReady = this.#openDecoder();
      // Handled where it is awaited (#drainDecode); this keeps an early failure from being "unhandled".
      this.#decoderReady.catch(() => {});
    }
  }

  async #openDecoder(): Promise<void> {
    const codec = Codec.findDecoderByName('h264' as FFDecoderCodec);
    if (!codec) throw new Error('no h264 decoder');
    const context = new CodecContext();
    context.allocContext3(codec);
    context.threadCount = 1;
    const ret = await context.open2(codec, null);
    if (ret < 0) throw new Error(`h264 decoder open failed: ${ret}`);
    this.#decoder = context;
  }

  protected override answerSdp(sdp: string): string {
    return this.#options.answerSdp?.(sdp) ?? sdp;
  }

  protected override onAccessUnit(parts: Buffer[]): void {
    if (!this.#options.decode || this.#closedFlag) return;
    this.#decodeQueue.push(Buffer.concat(parts));
    this.#drainDecode().catch(() => {
      // decoder failed to open or decode: frames stay counted as received, not decoded
    });
  }

  async #drainDecode(): Promise<void> {
    if (this.#decoding) return;
    this.#decoding = true;
    try {
      await this.#decoderReady;
      const decoder = this.#decoder;
      if (!decoder) return;
      const packet = new Packet();
      packet.alloc();
      const frame = new Frame();
      frame.alloc();
      try {
        await this.#decodeAll(decoder, packet, frame);
      } finally {
        packet.free();
        frame.free();
      }
    } finally {
      this.#decoding = false;
    }
  }

  async #decodeAll(decoder: CodecContext, packet: Packet, frame: Frame): Promise<void> {
    while (this.#decodeQueue.length > 0 && !this.#closedFlag) {
      const unit = this.#decodeQueue.shift() as Buffer;
      packet.data = unit;
      const sent = await decoder.sendPacket(packet);
      packet.unref();
      if (sent < 0 && sent !== AVERROR_EAGAIN) continue;
      for (;;) {
        const received = await decoder.receiveFrame(frame);
        if (received === AVERROR_EAGAIN || received === AVERROR_EOF || received < 0) break;
        this.framesDecoded++;
        const luma = frame.data?.[0];
        const stride = frame.linesize[0] ?? frame.width;
        if (luma) {
          this.#options.onDecodedFrame?.(luma, stride, frame.width, frame.height);
          const stamp = readFrameStampLuma(luma, stride, frame.width, frame.height);
          if (stamp) {
            this.stamps.push(stamp);
            this.#options.onStamp?.(stamp, Date.now());
          }
        }
        frame.unref();
      }
    }
  }

  /** Closes the socket and the peer, then the decoder; idempotent. */
  override async close(): Promise<void> {
    if (this.#closedFlag) return;
    this.#closedFlag = true;
    await super.close();
    while (this.#decoding) await new Promise((resolve) => setTimeout(resolve, 5));
    this.#decoder?.freeContext();
    this.#decoder = undefined;
  }
}
