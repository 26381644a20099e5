import type { YuvPlanes } from '../../protocol/frameStamp.js';
import type { InputMessage } from '../../protocol/input.js';
import type { GameInfo } from '../../protocol/playerApi.js';

/** Audio the games produce: mono signed 16-bit PCM at this rate. */
export const GAME_AUDIO_SAMPLE_RATE = 48_000;

/**
 * A running game inside a session. The session's clock calls `renderFrame` at the game's fps (frames the
 * encoder cannot take are skipped, so a game must simulate from `nowMs`, not count calls), feeds input
 * as it arrives and pulls audio in 20 ms blocks.
 *
 * Built-in games render in software straight into the encoder's I420 frame (no conversion). A captured
 * native game (later) implements the same interface and copies or scales its captured frame in.
 */
export interface GameRuntime {
  /** Advance the simulation to `nowMs` (monotonic ms) and draw the current state into `target`. */
  renderFrame(target: YuvPlanes, nowMs: number): void;
  /** Apply one input message from the player. */
  input(message: InputMessage): void;
  /** Fill `out` with the next `out.length` samples of mono PCM (48 kHz). */
  mixAudio(out: Int16Array): void;
  /** The output size changed (a player `resize`); the next frames are drawn at this size. */
  resize(width: number, height: number): void;
  /** Release whatever the game holds; idempotent. */
  close(): void;
}

export interface CreateGameParameters {
  width: number;
  height: number;
  /** Monotonic ms at start. */
  nowMs: number;
  /** Wall clock (Date.now), for stamps. */
  wallClock: () => number;
}

/** A game the edge can start: its catalogue entry and a factory. */
export interface GameDefinition {
  info: GameInfo;
  create(parameters: CreateGameParameters): GameRuntime;
}
