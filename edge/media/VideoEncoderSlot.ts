import type { Logger } from 'pino';
import { FarplayError } from '../../protocol/errors.js';
import type { PacerClock } from './FramePacer.js';
import type { H264Encoder } from './H264Encoder.js';

/** What a VideoEncoderSlot is built from. */
export interface VideoEncoderSlotOptions {
  width: number;
  height: number;
  clock: PacerClock;
  logger: Logger;
  /** Opens an encoder of this size at the current bitrate (throws the encoder's FarplayError). */
  open: (width: number, height: number) => Promise<H264Encoder>;
  /** The bitrate a swapped-in encoder gets (it may have moved while it opened), kbit/s. */
  encoderKbps: () => number;
  /** A new size was swapped in: the source draws at it from the next frame, which must be a keyframe. */
  onSwap: (width: number, height: number) => void;
}

/**
 * The video encoder in use and the one being opened for another size. A new size opens off the frame
 * path (the open runs on the thread pool while the current encoder goes on) and is swapped in before
 * the next frame the current one is idle for, so frames never leave out of order and none is skipped
 * for the re-open. Player resizes are rate-limited (RESIZE_INTERVAL_MS); ladder steps open at once.
 */
export class VideoEncoderSlot {
  /** At most one player-driven re-open per this many ms; resizes in between wait, the latest wins. */
  static readonly RESIZE_INTERVAL_MS = 1000;
  readonly #options: VideoEncoderSlotOptions;
  #encoder: H264Encoder | undefined;
  /** The opened encoder of the next size, swapped in before the next frame the current one is idle for. */
  #next: { encoder: H264Encoder; width: number; height: number } | undefined;
  /** An encoder is being opened for another size (in the background: frames go on meanwhile). */
  #opening = false;
  #width: number;
  #height: number;
  /** Encoders opened for another size (player resizes and ladder steps). */
  #reopens = 0;
  /** When the last re-open started (clock ms), and the size waiting for the next allowed one. */
  #lastResizeAt = Number.NEGATIVE_INFINITY;
  #pendingSize: { width: number; height: number } | undefined;
  #resizeTimer: unknown;
  #closed = false;

  constructor(options: VideoEncoderSlotOptions) {
    this.#options = options;
    this.#width = options.width;
    this.#height = options.height;
  }

  /** The encoder frames go to now (undefined before `install`). */
  get encoder(): H264Encoder | undefined {
    return this.#encoder;
  }

  get width(): number {
    return this.#width;
  }

  get height(): number {
    return this.#height;
  }

  /** Encoders opened for another size since start. */
  get reopens(): number {
    return this.#reopens;
  }

  /** The first encoder (opened by the pipeline at the start size). */
  install(encoder: H264Encoder): void {
    this.#encoder = encoder;
  }

  /** Tells the running encoder the new bitrate (a waiting one gets it when swapped in). */
  setBitrate(kbps: number): void {
    this.#encoder?.setBitrate(kbps);
  }

  isSize(width: number, height: number): boolean {
    return width === this.#width && height === this.#height;
  }

  /**
   * A player resize: at most one re-open per RESIZE_INTERVAL_MS; a resize sooner waits for the interval
   * to end and only the latest waiting size is opened. A resize to the current size does nothing (and
   * drops another size waiting to be swapped in). `onOpened` runs once the new encoder is ready. Throws
   * the encoder's FarplayError when the new one does not open (the old one keeps running; a waiting
   * resize that fails is logged).
   */
  async resize(width: number, height: number, onOpened: () => void): Promise<void> {
    if (this.#closed) return;
    const clock = this.#options.clock;
    const wait = this.#lastResizeAt + VideoEncoderSlot.RESIZE_INTERVAL_MS - clock.now();
    if (wait > 0 || this.#opening) {
      this.#pendingSize = { width, height };
      this.#resizeTimer ??= clock.setTimeout(
        () => {
          this.#resizeTimer = undefined;
          const pending = this.#pendingSize;
          this.#pendingSize = undefined;
          if (pending) {
            this.resize(pending.width, pending.height, onOpened).catch((error: unknown) =>
              this.#options.logger.warn({ err: error }, 'resize failed; the stream keeps its size'),
            );
          }
        },
        Math.max(wait, 50),
      );
      return;
    }
    const next = this.#next;
    const same = next ? next.width === width && next.height === height : this.isSize(width, height);
    if (same || !this.#encoder) {
      // Back to the current size while another one waits to be swapped in: that one is dropped.
      if (next && this.isSize(width, height)) this.#dropNext();
      return;
    }
    if (await this.#reopen(width, height)) onOpened();
  }

  /**
   * A ladder rung's size: nothing to open when it is the current size (a waiting other size is dropped)
   * or already waiting; otherwise opens it now. True when an encoder was opened, false when none was
   * needed; throws when another open was running or the open failed.
   */
  async openRung(width: number, height: number): Promise<boolean> {
    const next = this.#next;
    if (this.isSize(width, height)) {
      this.#dropNext();
      return false;
    }
    if (next && next.width === width && next.height === height) return false;
    if (!(await this.#reopen(width, height)))
      throw new FarplayError('EDGE_ENCODER_FAILED', 'another encoder is being opened');
    return true;
  }

  /**
   * Before a frame: puts the encoder opened for the next size in place once the current one is idle
   * (so frames never leave out of order), with the latest bitrate, and tells `onSwap`. Returns the
   * encoder for this frame.
   */
  swap(): H264Encoder | undefined {
    const next = this.#next;
    const current = this.#encoder;
    if (!next || current?.busy) return current;
    this.#next = undefined;
    current?.close();
    next.encoder.setBitrate(this.#options.encoderKbps());
    this.#encoder = next.encoder;
    this.#width = next.width;
    this.#height = next.height;
    this.#options.onSwap(next.width, next.height);
    return next.encoder;
  }

  /** Closes both encoders and cancels a waiting resize; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#resizeTimer !== undefined) this.#options.clock.clearTimeout(this.#resizeTimer);
    this.#dropNext();
    this.#encoder?.close();
  }

  #dropNext(): void {
    this.#next?.encoder.close();
    this.#next = undefined;
  }

  /**
   * Opens an encoder for `width`×`height` off the frame path; `swap` puts it in place before a frame.
   * False when another open was running or the slot closed meanwhile. Throws the open's FarplayError.
   */
  async #reopen(width: number, height: number): Promise<boolean> {
    if (this.#opening || !this.#encoder) return false;
    this.#lastResizeAt = this.#options.clock.now();
    this.#opening = true;
    try {
      const encoder = await this.#options.open(width, height);
      if (this.#closed) {
        encoder.close();
        return false;
      }
      this.#dropNext();
      this.#next = { encoder, width, height };
      this.#reopens++;
      return true;
    } finally {
      this.#opening = false;
    }
  }
}
