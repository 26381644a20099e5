import type { InputMessage } from '../../protocol/input.js';
import type { GameInfo } from '../../protocol/playerApi.js';
import type { FrameSource } from '../media/FrameSource.js';

/** Audio the games produce: mono signed 16-bit PCM at this rate. */
export const GAME_AUDIO_SAMPLE_RATE = 48_000;

/** Why a game stopped on its own. */
export interface GameExit {
  /** The process exit code, or null when it did not exit with one (a signal, a built-in game). */
  code: number | null;
  /** Human-readable cause, e.g. 'exited with code 1' or 'killed by SIGSEGV'. */
  reason: string;
  /** True when the game crashed rather than ended normally. */
  crashed: boolean;
}

/**
 * A running game inside a session: where its frames and sound come from, where input goes, and its
 * lifecycle. Built-in games are in-process pull sources; a captured native game is an outside process
 * that pushes frames and may exit or crash (its `exit` event ends the session).
 */
export interface GameRuntime {
  /** Pictures and sound (see FrameSource). */
  readonly frames: FrameSource;
  /** Applies one input message from the player. */
  input(message: InputMessage): void;
  /** Subscribes to the game's `exit`; returns the unsubscribe function. Listeners cannot crash the game. */
  onExit(listener: (exit: GameExit) => void): () => void;
  /** Stops the game and releases what it holds; idempotent (a process is waited for). */
  close(): Promise<void>;
}

/** What a game is started with. */
export interface CreateGameParameters {
  width: number;
  height: number;
  /** Monotonic ms at start. */
  nowMs: number;
  /** Wall clock (Date.now), for stamps. */
  wallClock: () => number;
}

/** A game the edge can start: its catalogue entry and an asynchronous factory (a process takes time). */
export interface GameDefinition {
  info: GameInfo;
  create(parameters: CreateGameParameters): Promise<GameRuntime>;
}
