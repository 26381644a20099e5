import type { Logger } from 'pino';
import { FarplayError, findError } from '../../protocol/errors.js';
import { decodeInput, HELD_KEY_RELEASE_MS, type InputMessage, InputType } from '../../protocol/input.js';
import { SignalCloseCodes } from '../../protocol/signaling.js';
import { TypedEmitter } from '../../protocol/TypedEmitter.js';
import { HeldKeys } from './HeldKeys.js';
import type { InputTransport } from './InputChannel.js';
import { RateLimiter } from './RateLimiter.js';
import type { SessionFailure } from './SessionFailure.js';
import type { SessionStats } from './SessionStats.js';

/** Malformed input messages tolerated per session before it ends. */
const MAX_BAD_INPUT_MESSAGES = 8;

/** Events of an InputHandler. */
export type InputHandlerEvents = {
  /** Flood or too many malformed messages: the session ends. */
  violation: [failure: SessionFailure];
};

/** What an InputHandler needs. */
export interface InputHandlerOptions {
  transport: InputTransport;
  /** Input messages per second tolerated (bursts up to the same number). */
  maxMessagesPerSecond: number;
  stats: SessionStats;
  /** Applies one decoded message to the game. */
  apply: (message: InputMessage) => void;
  /** Held keys not refreshed for this long are released, ms (default HELD_KEY_RELEASE_MS). */
  heldKeyReleaseMs?: number;
  logger: Logger;
}

/**
 * The player's input channel: echoes pings as pongs at once, decodes the rest and hands it to the game,
 * counts messages, and ends the session on a flood or repeated malformed messages. Held keys: a repeated
 * keyDown only refreshes the key; a key whose refreshes stop is released with a keyUp the edge makes up.
 */
export class InputHandler extends TypedEmitter<InputHandlerEvents> {
  readonly #transport: InputTransport;
  readonly #limiter: RateLimiter;
  readonly #stats: SessionStats;
  readonly #apply: (message: InputMessage) => void;
  readonly #log: Logger;
  readonly #pongBuffer = Buffer.alloc(13);
  readonly #held: HeldKeys;
  readonly #releaseMs: number;
  #sweep: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: InputHandlerOptions) {
    super({
      onListenerError: (error, event) => options.logger.error({ err: error, event }, 'input listener threw'),
    });
    this.#transport = options.transport;
    this.#limiter = new RateLimiter(options.maxMessagesPerSecond);
    this.#stats = options.stats;
    this.#apply = options.apply;
    this.#log = options.logger;
    this.#releaseMs = options.heldKeyReleaseMs ?? HELD_KEY_RELEASE_MS;
    this.#held = new HeldKeys(this.#releaseMs);
    options.transport.onMessage((data) => this.#onMessage(data));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Closes the transport; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweep);
    this.#sweep = undefined;
    this.#transport.close();
  }

  #onMessage(data: Buffer | string): void {
    if (this.#closed) return;
    if (!this.#limiter.take()) {
      this.emit('violation', {
        code: 'EDGE_FLOOD',
        message: 'too many input messages',
        closeCode: SignalCloseCodes.FLOOD,
      });
      return;
    }
    this.#stats.recordInput();
    if (typeof data === 'string') {
      this.#badInput(new FarplayError('EDGE_BAD_INPUT', 'text on the input channel'));
      return;
    }
    // Ping: echo as pong at once, same seq and t, before anything else touches the event loop (unless the
    // transport's fast path already did).
    if (data.length === 13 && data[0] === InputType.ping) {
      if (this.#transport.answered?.(data)) return;
      data.copy(this.#pongBuffer);
      this.#pongBuffer[0] = InputType.pong;
      this.#transport.send(this.#pongBuffer);
      return;
    }
    let message: InputMessage;
    try {
      message = decodeInput(data);
    } catch (error) {
      this.#badInput(error);
      return;
    }
    if (message.type === 'ping' || message.type === 'pong') return;
    if (message.type === 'keyDown' || message.type === 'keyUp') {
      const verdict = this.#held.accept(message, Date.now());
      if (verdict === 'stale') return;
      if (verdict === 'refresh') {
        this.#stats.recordKeyRefresh();
        this.#stats.recordInputApplied(message.seq);
        return;
      }
      this.#watchHeldKeys();
    }
    this.#applyToGame(message);
    this.#stats.recordInputApplied(message.seq);
  }

  #applyToGame(message: InputMessage): void {
    try {
      this.#apply(message);
    } catch (error) {
      this.#log.warn({ err: error }, 'game rejected an input message');
    }
  }

  /** Runs the stale-key sweep while keys are held (a quarter of the release time apart). */
  #watchHeldKeys(): void {
    if (this.#held.size === 0 || this.#sweep !== undefined) return;
    this.#sweep = setInterval(
      () => {
        for (const key of this.#held.stale(Date.now())) {
          this.#stats.recordStaleKeyReleased();
          this.#log.debug({ key }, 'released a held key whose refreshes stopped');
          this.#applyToGame({ type: 'keyUp', seq: this.#stats.lastInputSeq, key });
        }
        if (this.#held.size === 0) {
          clearInterval(this.#sweep);
          this.#sweep = undefined;
        }
      },
      Math.max(20, this.#releaseMs / 4),
    );
    this.#sweep.unref();
  }

  #badInput(error: unknown): void {
    if (this.#stats.recordBadInput() > MAX_BAD_INPUT_MESSAGES) {
      this.emit('violation', {
        code: 'EDGE_BAD_INPUT',
        message: findError(error)?.message ?? 'malformed input messages',
        closeCode: SignalCloseCodes.BAD_MESSAGE,
      });
    }
  }
}
