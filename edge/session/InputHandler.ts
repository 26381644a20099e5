import type { Logger } from 'pino';
import { FarplayError, findError } from '../../protocol/errors.js';
import { decodeInput, type InputMessage, InputType } from '../../protocol/input.js';
import { SignalCloseCodes } from '../../protocol/signaling.js';
import { TypedEmitter } from '../../protocol/TypedEmitter.js';
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
  logger: Logger;
}

/**
 * The player's input channel: echoes pings as pongs at once, decodes the rest and hands it to the game,
 * counts messages, and ends the session on a flood or repeated malformed messages.
 */
export class InputHandler extends TypedEmitter<InputHandlerEvents> {
  readonly #transport: InputTransport;
  readonly #limiter: RateLimiter;
  readonly #stats: SessionStats;
  readonly #apply: (message: InputMessage) => void;
  readonly #log: Logger;
  readonly #pongBuffer = Buffer.alloc(13);
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
    options.transport.onMessage((data) => this.#onMessage(data));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Closes the transport; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
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
    // Ping: echo as pong at once, same seq and t, before anything else touches the event loop.
    if (data.length === 13 && data[0] === InputType.ping) {
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
    try {
      this.#apply(message);
    } catch (error) {
      this.#log.warn({ err: error }, 'game rejected an input message');
    }
    this.#stats.recordInputApplied(message.seq);
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
