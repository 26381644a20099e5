import {
  type FrameStamp,
  readFrameStamp,
  readFrameStampLuma,
  stampHeight,
} from '../../protocol/frameStamp.js';
import type { ClockOffsetEstimate } from './estimateClockOffset.js';
import { glassToGlassMs } from './glassToGlassMs.js';

/** One presented video frame whose stamp was read back (times in ms). */
export interface StampedFrame {
  stamp: FrameStamp;
  /** Glass-to-glass: expected display time − capture time stamped by the edge, on one clock; never negative. */
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

/**
 * After this many frames without a stamp (a game that stamps nothing), one frame is read every
 * `IDLE_PERIOD_MS` instead: a pending requestVideoFrameCallback makes the page's main thread run a
 * rendering update for every video frame (60 a second), work that input events would queue behind.
 */
const MISSES_BEFORE_IDLE = 30;
/** Frames in a row without a stamp before the stream counts as unstamped (one misread is not enough). */
const UNSTAMPED_RUN = 5;
const IDLE_PERIOD_MS = 500;
/** Pixel formats whose first plane is full-resolution luma (what `readFrameStampLuma` reads). */
const LUMA_FIRST_FORMATS: ReadonlySet<string> = new Set(['I420', 'I420A', 'I422', 'I444', 'NV12']);
/** Stamp reads in flight at once (VideoFrame path); frames beyond that are not read. */
const MAX_READS_IN_FLIGHT = 3;

/**
 * Reads the time-code stamp (protocol/frameStamp.ts) out of every presented frame of a <video>:
 * requestVideoFrameCallback → `new VideoFrame(video)` (the presented frame) → `copyTo` of the stamp
 * strip only (no colour conversion, asynchronous) → `readFrameStampLuma`. Where decoded frames are not
 * readable that way (GPU-backed frames, no WebCodecs) it draws the strip into a small canvas →
 * `readFrameStamp`; that converts the whole picture on the page's main thread (~5 ms per 720p frame in
 * headless Chromium), delaying input events and data-channel messages queued behind it.
 * Games without stamps cost one read every 500 ms. Unix time on this page is
 * `performance.timeOrigin + performance.now()`; the edge's stamps are on its own clock, moved onto the
 * page's by the offset `edgeClock` estimates.
 */
export class FrameProbe {
  readonly #video: VideoWithFrameCallback;
  readonly #onFrame: (frame: StampedFrame) => void;
  readonly #edgeClock: () => ClockOffsetEstimate | undefined;
  readonly #onUnstamped: () => void;
  readonly #canvas = document.createElement('canvas');
  readonly #context: CanvasRenderingContext2D | null;
  #handle: number | undefined;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #misses = 0;
  #presented = 0;
  #closed = false;
  /** False once a VideoFrame read failed or frames are not CPU luma: canvas reads from then on. */
  #videoFrameReads = typeof VideoFrame === 'function';
  #readsInFlight = 0;
  readonly #buffers: Uint8Array<ArrayBuffer>[] = [];

  /** True when this browser has requestVideoFrameCallback (the probe does nothing otherwise). */
  static get supported(): boolean {
    return 'requestVideoFrameCallback' in HTMLVideoElement.prototype;
  }

  /**
   * `edgeClock` gives the current estimate of the edge clock's offset from this page's (see EdgeClock);
   * without one the two clocks are taken as equal. `onUnstamped` is called when `UNSTAMPED_RUN` frames
   * in a row carried no stamp (the edge stopped stamping), and again on every further miss.
   */
  constructor(
    video: HTMLVideoElement,
    onFrame: (frame: StampedFrame) => void,
    edgeClock: () => ClockOffsetEstimate | undefined = () => undefined,
    onUnstamped: () => void = () => {},
  ) {
    this.#video = video as VideoWithFrameCallback;
    this.#onFrame = onFrame;
    this.#edgeClock = edgeClock;
    this.#onUnstamped = onUnstamped;
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
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#handle = this.#video.requestVideoFrameCallback((_now, metadata) => {
      this.#handle = undefined;
      if (this.#misses >= MISSES_BEFORE_IDLE) {
        this.#idleTimer = setTimeout(() => {
          this.#idleTimer = undefined;
          this.#schedule();
        }, IDLE_PERIOD_MS);
      } else {
        this.#schedule();
      }
      this.#presented = metadata.presentedFrames;
      if (this.#videoFrameReads && this.#readAsync(metadata)) return;
      this.#report(this.#read(metadata.width, metadata.height), metadata);
    });
  }

  #report(stamp: FrameStamp | null, metadata: VideoFrameMetadataLike): void {
    if (this.#closed) return;
    if (stamp === null) {
      this.#misses++;
      if (this.#misses >= UNSTAMPED_RUN) this.#onUnstamped();
      return;
    }
    this.#misses = 0;
    const origin = performance.timeOrigin;
    const offset = this.#edgeClock();
    this.#onFrame({
      stamp,
      glassToGlassMs: glassToGlassMs(origin + metadata.expectedDisplayTime, stamp.captureTimeMs, offset),
      captureToReceiveMs:
        metadata.receiveTime === undefined
          ? undefined
          : glassToGlassMs(origin + metadata.receiveTime, stamp.captureTimeMs, offset),
      processingMs:
        metadata.processingDuration === undefined ? undefined : metadata.processingDuration * 1000,
      displayTime: metadata.expectedDisplayTime,
    });
  }

  /**
   * Starts an asynchronous read of the stamp strip's luma from the presented frame. True when it is
   * under way (or skipped because enough reads are), false when the caller should use the canvas.
   */
  #readAsync(metadata: VideoFrameMetadataLike): boolean {
    if (this.#readsInFlight >= MAX_READS_IN_FLIGHT) return true;
    let frame: VideoFrame;
    try {
      frame = new VideoFrame(this.#video);
    } catch {
      this.#videoFrameReads = false;
      return false;
    }
    const visible = frame.visibleRect;
    const width = visible?.width ?? 0;
    const strip = Math.min(visible?.height ?? 0, stampHeight(width)) & ~1;
    if (frame.format === null || !LUMA_FIRST_FORMATS.has(frame.format) || !visible || strip <= 0) {
      frame.close();
      this.#videoFrameReads = false;
      return false;
    }
    const rect = { x: visible.x & ~1, y: visible.y & ~1, width, height: strip };
    let buffer: Uint8Array<ArrayBuffer>;
    try {
      const size = frame.allocationSize({ rect });
      buffer = this.#buffers.pop() ?? new Uint8Array(size);
      if (buffer.length < size) buffer = new Uint8Array(size);
    } catch {
      frame.close();
      this.#videoFrameReads = false;
      return false;
    }
    this.#readsInFlight++;
    frame
      .copyTo(buffer, { rect })
      .then(
        (layout) => {
          const luma = layout[0];
          const stamp =
            luma === undefined
              ? null
              : readFrameStampLuma(buffer.subarray(luma.offset), luma.stride, width, strip);
          this.#report(stamp, metadata);
        },
        () => {
          this.#videoFrameReads = false;
        },
      )
      .finally(() => {
        frame.close();
        this.#readsInFlight--;
        this.#buffers.push(buffer);
      });
    return true;
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
