import type { YuvPlanes } from '../../protocol/frameStamp.js';
import type { InputMessage } from '../../protocol/input.js';

/**
 * A built-in game simulated and drawn in this process, in software, straight into the encoder's I420
 * frame (no conversion). `BuiltInGameRuntime` turns one into a GameRuntime.
 */
export interface SoftwareGame {
  /** Advance the simulation to `nowMs` (monotonic ms) and draw the current state into `target`. */
  renderFrame(target: YuvPlanes, nowMs: number): void;
  /** Apply one input message from the player. */
  input(message: InputMessage): void;
  /** Fill `out` with the next `out.length` samples of mono PCM (48 kHz). */
  mixAudio(out: Int16Array): void;
  /** The output size changed; the next frames are drawn at this size. */
  resize(width: number, height: number): void;
  /** Release whatever the game holds; idempotent. */
  close(): void;
}
