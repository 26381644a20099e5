import { join } from 'node:path';
import type { Logger } from 'pino';
import { FarplayError } from '../../protocol/errors.js';
import type { InputMessage } from '../../protocol/input.js';
import { TypedEmitter } from '../../protocol/TypedEmitter.js';
import { type GameProcessExit, GameSandbox } from './GameSandbox.js';
import { PulseSink } from './PulseSink.js';
import type { SandboxCgroupLimits } from './SandboxCgroup.js';
import { VirtualDisplay } from './VirtualDisplay.js';
import { type CapturedFrame, X11Capture } from './X11Capture.js';
import { type GamepadKeyMap, XTestInput } from './XTestInput.js';

/** What a native game is started from: its manifest's fields and its unpacked package. */
export interface NativeGameOptions {
  /** Session id (names the sandbox's folders). */
  id: string;
  /** The manifest's command, run by /bin/sh in the package folder. */
  command: string;
  /** The unpacked package (read-only for the game). */
  packageDir: string;
  /** Folder for per-session state (home, audio); removed at close. */
  runtimeDir: string;
  /** The game's screen size and frame rate (the manifest's). */
  width: number;
  height: number;
  fps: number;
  /** Size of the frames handed out (default the screen's; a player resize changes it). */
  outputWidth?: number;
  outputHeight?: number;
  /** Whether the game may use the network (default false). */
  network?: boolean;
  /** Gamepad → key bindings (default DEFAULT_GAMEPAD_KEYS). */
  gamepadKeys?: GamepadKeyMap;
  /** CPU, memory and process limits of the game (default one core, 2 GiB, 512 processes). */
  limits?: SandboxCgroupLimits;
  /** Release held keys not re-pressed within this many ms (0 = off). */
  heldKeyTimeoutMs?: number;
  logger?: Logger;
}

/** Why a native game stopped on its own. */
export interface NativeGameExit extends GameProcessExit {
  /** EDGE_GAME_CRASHED (a signal, or its display died) or EDGE_GAME_EXITED. */
  errorCode: 'EDGE_GAME_CRASHED' | 'EDGE_GAME_EXITED';
  /** Human-readable cause, e.g. 'killed by SIGSEGV' or 'exited with code 0'. */
  reason: string;
}

/** Events of a NativeGame. */
export type NativeGameEvents = {
  /** A captured frame in I420 (valid until the next one). */
  frame: [frame: CapturedFrame];
  /** The game (or its display) ended without `close()`; the session should end with `errorCode`. */
  exit: [exit: NativeGameExit];
};

/**
 * A native Linux game running for one session: its own virtual display, PulseAudio sink and bubblewrap
 * sandbox, captured with x11grab at the manifest's fps and driven through XTEST. Frames and the exit come
 * as events; sound is pulled with `mixAudio`. `close()` stops the capture, the game (its whole process
 * group), the audio and the display, and removes every file of the session.
 */
export class NativeGame {
  readonly display: VirtualDisplay;
  readonly sandbox: GameSandbox;
  readonly #audio: PulseSink;
  readonly #capture: X11Capture;
  readonly #input: XTestInput;
  readonly #events: TypedEmitter<NativeGameEvents>;
  readonly #logger: Logger | undefined;
  #exited = false;
  #closing: Promise<void> | undefined;

  private constructor(
    parts: {
      display: VirtualDisplay;
      audio: PulseSink;
      sandbox: GameSandbox;
      capture: X11Capture;
      input: XTestInput;
    },
    options: NativeGameOptions,
  ) {
    this.display = parts.display;
    this.sandbox = parts.sandbox;
    this.#audio = parts.audio;
    this.#capture = parts.capture;
    this.#input = parts.input;
    this.#logger = options.logger;
    this.#events = new TypedEmitter({
      onListenerError: (error) => options.logger?.error({ err: error }, 'native game listener failed'),
    });
    this.#capture.on('frame', (frame) => this.#events.emit('frame', frame));
    this.#capture.on('error', () =>
      this.#end({ code: null, signal: null, crashed: true, stderr: '' }, 'its display stopped'),
    );
    this.sandbox.on('exit', (exit) => this.#end(exit));
    this.display.on('exit', () =>
      this.#end({ code: null, signal: null, crashed: true, stderr: '' }, 'its display died'),
    );
  }

  /** Starts display, audio, sandboxed game, capture and input; throws EDGE_GAME_START_FAILED (nothing left running). */
  static async start(options: NativeGameOptions): Promise<NativeGame> {
    const log = options.logger;
    const opened: { close(): unknown }[] = [];
    try {
      const display = await VirtualDisplay.start({
        width: options.width,
        height: options.height,
        ...(log ? { logger: log } : {}),
      });
      opened.push(display);
      const audio = await PulseSink.start({
        dir: join(options.runtimeDir, `${options.id}-pulse`),
        ...(log ? { logger: log } : {}),
      });
      opened.push(audio);
      const sandbox = await GameSandbox.start({
        id: options.id,
        command: options.command,
        packageDir: options.packageDir,
        runtimeDir: options.runtimeDir,
        display,
        pulseSocket: audio.socketPath,
        network: options.network ?? false,
        ...(options.limits ? { limits: options.limits } : {}),
        ...(log ? { logger: log } : {}),
      });
      opened.push(sandbox);
      const capture = await X11Capture.open({
        display: display.display,
        width: options.width,
        height: options.height,
        fps: options.fps,
        ...(options.outputWidth ? { outputWidth: options.outputWidth } : {}),
        ...(options.outputHeight ? { outputHeight: options.outputHeight } : {}),
        ...(log ? { logger: log } : {}),
      });
      opened.push(capture);
      const input = await XTestInput.open({
        display: display.number,
        ...(options.gamepadKeys ? { gamepadKeys: options.gamepadKeys } : {}),
        ...(options.heldKeyTimeoutMs ? { heldKeyTimeoutMs: options.heldKeyTimeoutMs } : {}),
        ...(log ? { logger: log } : {}),
      });
      opened.push(input);
      const game = new NativeGame({ display, audio, sandbox, capture, input }, options);
      capture.start();
      log?.info({ display: display.display, limited: sandbox.limited }, 'native game started');
      return game;
    } catch (error) {
      for (const part of opened.reverse()) await part.close();
      throw error instanceof FarplayError
        ? error
        : new FarplayError('EDGE_GAME_START_FAILED', undefined, { cause: error });
    }
  }

  /** Frames captured so far. */
  get frames(): number {
    return this.#capture.frames;
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof NativeGameEvents>(
    event: K,
    listener: (...args: NativeGameEvents[K]) => void,
  ): () => void {
    return this.#events.on(event, listener);
  }

  /** Injects one input message from the player. */
  input(message: InputMessage): void {
    this.#input.input(message);
  }

  /** Fills `out` with the game's next mono 48 kHz PCM (silence where it made none). */
  mixAudio(out: Int16Array): void {
    this.#audio.mixAudio(out);
  }

  /** Frames are handed out at this size from the next grab on (the game's screen keeps its size). */
  resize(width: number, height: number): void {
    this.#capture.resize(width, height);
  }

  #end(exit: GameProcessExit, why?: string): void {
    if (this.#exited || this.#closing) return;
    this.#exited = true;
    const reason =
      why ??
      (exit.signal
        ? `killed by ${exit.signal}`
        : `exited with code ${exit.code === null ? 'unknown' : exit.code}`);
    const errorCode =
      exit.crashed || (exit.code !== null && exit.code !== 0) ? 'EDGE_GAME_CRASHED' : 'EDGE_GAME_EXITED';
    this.#logger?.info({ reason, errorCode, stderr: exit.stderr.slice(-300) }, 'native game ended');
    this.#events.emit('exit', { ...exit, errorCode, reason });
  }

  /** Stops everything the game runs on and removes its files; idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#events.removeAllListeners();
      this.#input.close();
      await this.#capture.close();
      await this.sandbox.close();
      await this.#audio.close();
      await this.display.close();
    })();
    return this.#closing;
  }
}
