import type { InputMessage } from '../../protocol/input.js';
import type { PullFrameSource } from '../media/FrameSource.js';
import type { GameExit, GameRuntime } from './GameRuntime.js';
import type { SoftwareGame } from './SoftwareGame.js';

/** A software game as a GameRuntime: a pull frame source that never exits by itself. */
export class BuiltInGameRuntime implements GameRuntime {
  readonly frames: PullFrameSource;
  readonly #game: SoftwareGame;
  #closed = false;

  constructor(game: SoftwareGame) {
    this.#game = game;
    this.frames = {
      delivery: 'pull',
      renderFrame: (target, nowMs) => game.renderFrame(target, nowMs),
      mixAudio: (out) => game.mixAudio(out),
      resize: (width, height) => game.resize(width, height),
    };
  }

  get closed(): boolean {
    return this.#closed;
  }

  input(message: InputMessage): void {
    this.#game.input(message);
  }

  /** A built-in game runs until it is closed: no exit to report. */
  onExit(_listener: (exit: GameExit) => void): () => void {
    return () => {};
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#game.close();
  }
}
