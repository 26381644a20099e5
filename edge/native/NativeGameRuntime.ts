import type { InputMessage } from '../../protocol/input.js';
import type { GameExit, GameRuntime } from '../games/GameRuntime.js';
import type { FrameSink, PushedFrame, PushFrameSource } from '../media/FrameSource.js';
import type { NativeGame } from './NativeGame.js';
import type { CapturedFrame } from './X11Capture.js';

/**
 * A native game as a GameRuntime: a push frame source (each captured frame goes to the media pipeline as it
 * arrives, so the stream runs at the capture's pace through the same encoder and RTP path as the built-in
 * games) whose `exit` event ends the session with EDGE_GAME_CRASHED or EDGE_GAME_EXITED.
 */
export class NativeGameRuntime implements GameRuntime {
  readonly frames: PushFrameSource;
  readonly #game: NativeGame;
  readonly #onClose: (() => void) | undefined;
  #sink: FrameSink | undefined;
  #closing: Promise<void> | undefined;

  /** Wraps a started `game`; `onClose` runs once it is closed (e.g. to release its package). */
  constructor(game: NativeGame, onClose?: () => void) {
    this.#game = game;
    this.#onClose = onClose;
    game.on('frame', (frame) => this.#sink?.pushFrame(pushed(frame)));
    this.frames = {
      delivery: 'push',
      attach: (sink) => {
        this.#sink = sink;
      },
      detach: () => {
        this.#sink = undefined;
      },
      mixAudio: (out) => game.mixAudio(out),
      resize: (width, height) => game.resize(width, height),
    };
  }

  input(message: InputMessage): void {
    this.#game.input(message);
  }

  onExit(listener: (exit: GameExit) => void): () => void {
    return this.#game.on('exit', (exit) =>
      listener({ code: exit.code, reason: exit.reason, crashed: exit.crashed }),
    );
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#sink = undefined;
      try {
        await this.#game.close();
      } finally {
        this.#onClose?.();
      }
    })();
    return this.#closing;
  }
}

function pushed(frame: CapturedFrame): PushedFrame {
  return {
    captureTimeMs: frame.captureTimeMs,
    convertMs: frame.convertMs,
    draw: (target) => {
      const src = frame.planes;
      copyPlane(src.y, src.strideY, target.y, target.strideY, target.width, target.height);
      copyPlane(src.u, src.strideU, target.u, target.strideU, target.width >> 1, target.height >> 1);
      copyPlane(src.v, src.strideV, target.v, target.strideV, target.width >> 1, target.height >> 1);
    },
  };
}

/** Copies `rows` rows of `width` bytes; sizes that differ (a resize in flight) copy what overlaps. */
function copyPlane(
  src: Uint8Array,
  srcStride: number,
  dst: Uint8Array,
  dstStride: number,
  width: number,
  rows: number,
): void {
  const w = Math.min(width, srcStride);
  const h = Math.min(rows, Math.floor(src.length / srcStride));
  if (srcStride === dstStride && w === srcStride) {
    dst.set(src.subarray(0, srcStride * h));
    return;
  }
  for (let row = 0; row < h; row++)
    dst.set(src.subarray(row * srcStride, row * srcStride + w), row * dstStride);
}
