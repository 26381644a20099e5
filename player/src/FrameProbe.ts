import { type FrameStamp, readFrameStamp, stampHeight } from '../../protocol/frameStamp.js';

/** One presented video frame whose stamp was read back (times in ms). */
export interface StampedFrame {
  stamp: FrameStamp;
  /** Glass-to-glass: expected display time (unix ms) − capture time stamped by the edge. */
  glassToGlassMs: number;
  /** Capture → last packet of the frame received by the browser (no display tick in it), if known. */
  captureToReceiveMs: number | undefined;
  /** Decode (and processing) time the browser reports for this frame, if known. */
  processingMs: number | undefined;
  /** Expected display time on the page's performance clock. */
  displayTime: number;
}

/** Per-frame information that requestVideoFrameCallback hands over (the fields used here). */
interface VideoFrameMetadataLike {
  expectedDisplayTime: number;
  width: number;
  height: number;
  presentedFrames: number;
  receiveTime?: number;
  processingDuration?: number;
}

type VideoWithFrameCallback = HTMLVideoElement & {
  requestVideoFrameCallback(callback: (now: number, metadata: VideoFrameMetadataLike) => void): number;
  cancelVideoFrameCallback(handle: number): void;
};

/** After this many frames without a stamp, only every `IDLE_STRIDE`-th frame is read. */
const MISSES_BEFORE_IDLE = 30;
const IDLE_STRIDE = 30;

/**
 * Reads the time-code stamp (protocol/frameStamp.ts) out of every presented frame of a <video>:
 * requestVideoFrameCallback → draw the top stamp strip into a small canvas → `readFrameStamp`.
 * Games without stamps cost one read every 30 frames. Unix time on this page is
 * `performance.timeOrigin + performance.now()`, the same clock as the edge's `Date.now()` when both
 * run on one machine (and NTP-close otherwise).
 */
export class FrameProbe {
  readonly #video: VideoWithFrameCallback;
  readonly #onFrame: (frame: StampedFrame) => void;
  readonly #canvas = document.createElement('canvas');
  readonly #context: CanvasRenderingContext2D | null;
  #handle: number | undefined;
  #misses = 0;
  #presented = 0;
  #closed = false;

  /** True when this browser has requestVideoFrameCallback (the probe does nothing otherwise). */
  static get supported(): boolean {
    return 'requestVideoFrameCallback' in HTMLVideoElement.prototype;
  }

  constructor(video: HTMLVideoElement, onFrame: (frame: StampedFrame) => void) {
    this.#video = video as VideoWithFrameCallback;
    this.#onFrame = onFrame;
    this.#context = this.#canvas.getContext('2d', { willReadFrequently: true, alpha: false });
    if (FrameProbe.supported) this.#schedule();
  }

  /** Frames presented by the <video> since the probe started (from the frame callback). */
  get presentedFrames(): number {
    return this.#presented;
  }

  /** Stops reading frames (idempotent). */
  close(): void {
    this.#closed = true;
    if (this.#handle !== undefined) this.#video.cancelVideoFrameCallback(this.#handle);
    this.#handle = undefined;
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#handle = this.#video.requestVideoFrameCallback((_now, metadata) => {
      this.#schedule();
      this.#presented = metadata.presentedFrames;
      if (this.#misses >= MISSES_BEFORE_IDLE && metadata.presentedFrames % IDLE_STRIDE !== 0) return;
      const stamp = this.#read(metadata.width, metadata.height);
      if (stamp === null) {
        this.#misses++;
        return;
      }
      this.#misses = 0;
      const origin = performance.timeOrigin;
      this.#onFrame({
        stamp,
        glassToGlassMs: origin + metadata.expectedDisplayTime - stamp.captureTimeMs,
        captureToReceiveMs:
          metadata.receiveTime === undefined
            ? undefined
            : origin + metadata.receiveTime - stamp.captureTimeMs,
        processingMs:
          metadata.processingDuration === undefined ? undefined : metadata.processingDuration * 1000,
        displayTime: metadata.expectedDisplayTime,
      });
    });
  }

  #read(width: number, height: number): FrameStamp | null {
    const context = this.#context;
    if (context === null || width <= 0 || height <= 0) return null;
    const strip = Math.min(height, stampHeight(width));
    if (this.#canvas.width !== width) this.#canvas.width = width;
    if (this.#canvas.height !== strip) this.#canvas.height = strip;
    try {
      context.drawImage(this.#video, 0, 0, width, strip, 0, 0, width, strip);
      return readFrameStamp(context.getImageData(0, 0, width, strip).data, width, strip);
    } catch {
      return null;
    }
  }
}
