import type { YuvPlanes } from '../../protocol/frameStamp.js';

/** One picture a push source hands over: `draw` fills the encoder's I420 frame. */
export interface PushedFrame {
  /** Copies (or scales) the picture into `target`, synchronously. */
  draw(target: YuvPlanes): void;
  /** Wall-clock ms at which the picture was captured (default: when it is pushed). */
  captureTimeMs?: number;
  /** For a captured picture: grab returned → converted, ms (the pipeline adds the draw and records it). */
  convertMs?: number;
}

/** Where a push source delivers its frames (the media pipeline). */
export interface FrameSink {
  /**
   * Encodes and sends `frame` now. A frame that finds the previous one still in the encoder is dropped
   * (counted as busy), never queued.
   */
  pushFrame(frame: PushedFrame): void;
}

/** What every frame source has besides its pictures: its sound and a resize. */
interface FrameSourceBase {
  /** Fills `out` with the next `out.length` samples of mono PCM (48 kHz). */
  mixAudio(out: Int16Array): void;
  /** The output size changed (a player `resize`); the next frames are drawn at this size. */
  resize(width: number, height: number): void;
}

/**
 * A source the pipeline pulls from on its own drift-free clock (the built-in games: they render in
 * software straight into the encoder's frame). A pull that finds the encoder busy is skipped, so a pull
 * source must simulate from `nowMs`, not count calls.
 */
export interface PullFrameSource extends FrameSourceBase {
  readonly delivery: 'pull';
  /** Advances to `nowMs` (monotonic ms) and draws the current picture into `target`. */
  renderFrame(target: YuvPlanes, nowMs: number): void;
}

/**
 * A source that pushes frames whenever it has one (a captured native game: frames arrive asynchronously
 * from an outside process). The pipeline attaches its sink once streaming starts and detaches it on close.
 */
export interface PushFrameSource extends FrameSourceBase {
  readonly delivery: 'push';
  attach(sink: FrameSink): void;
  detach(): void;
}

/** The frame source seam of the media pipeline: pulled (built-in games) or pushed (captured games). */
export type FrameSource = PullFrameSource | PushFrameSource;
