import type { Logger } from 'pino';
import {
  type EdgeMessage,
  MAX_SIGNAL_MESSAGE_BYTES,
  type PlayerMessage,
  parsePlayerMessage,
  SignalCloseCodes,
} from '../../protocol/signaling.js';
import { TypedEmitter } from '../../protocol/TypedEmitter.js';
import { RateLimiter } from './RateLimiter.js';
import type { SessionFailure } from './SessionFailure.js';

/** The signalling socket as the session sees it (a `ws` WebSocket fits). */
export interface SignalSocket {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  on(event: 'message', listener: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** Events of a SignalChannel. */
export type SignalChannelEvents = {
  /** A well-formed player message within the limits. */
  message: [message: PlayerMessage];
  /** The player broke a limit (size, rate) or sent something unparseable: the session ends. */
  violation: [failure: SessionFailure];
  /** The socket closed (the player left). */
  closed: [];
};

/** ws readyState CONNECTING and OPEN. */
const WS_CONNECTING = 0;
const WS_OPEN = 1;

/**
 * One player's signalling WebSocket: size and rate limits, parsing against the protocol schema, typed
 * events, and sends that never throw. Messages after a violation or a close are ignored.
 */
export class SignalChannel extends TypedEmitter<SignalChannelEvents> {
  readonly #socket: SignalSocket;
  readonly #limiter: RateLimiter;
  readonly #log: Logger;
  #closed = false;

  /** `maxMessagesPerSecond`: sustained rate (bursts up to the same number). */
  constructor(socket: SignalSocket, options: { maxMessagesPerSecond: number; logger: Logger }) {
    super({
      onListenerError: (error, event) => options.logger.error({ err: error, event }, 'signal listener threw'),
    });
    this.#socket = socket;
    this.#log = options.logger;
    this.#limiter = new RateLimiter(options.maxMessagesPerSecond);
    socket.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
    socket.on('close', () => {
      if (this.#closed) return;
      this.#closed = true;
      this.emit('closed');
    });
    socket.on('error', (error) => this.#log.debug({ err: error }, 'signalling socket error'));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends `message` if the socket is open; a failed send is logged, never thrown. */
  send(message: EdgeMessage): void {
    if (this.#socket.readyState !== WS_OPEN) return;
    try {
      this.#socket.send(JSON.stringify(message));
    } catch (error) {
      this.#log.debug({ err: error }, 'signalling send failed');
    }
  }

  /** Closes the socket with `code` and `reason` (cut to what a close frame holds); idempotent. */
  close(code: number, reason: string): void {
    this.#closed = true;
    try {
      if (this.#socket.readyState === WS_OPEN || this.#socket.readyState === WS_CONNECTING) {
        this.#socket.close(code, reason.slice(0, 120));
      }
    } catch {
      // socket already gone
    }
  }

  #onMessage(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    if (this.#closed) return;
    const size = Array.isArray(data)
      ? data.reduce((sum, part) => sum + part.length, 0)
      : data instanceof ArrayBuffer
        ? data.byteLength
        : data.length;
    if (size > MAX_SIGNAL_MESSAGE_BYTES) {
      this.#violation({
        code: 'EDGE_MESSAGE_TOO_LARGE',
        message: 'signalling message larger than 64 KiB',
        closeCode: SignalCloseCodes.TOO_LARGE,
      });
      return;
    }
    if (!this.#limiter.take()) {
      this.#violation({
        code: 'EDGE_FLOOD',
        message: 'too many signalling messages',
        closeCode: SignalCloseCodes.FLOOD,
      });
      return;
    }
    const text = isBinary
      ? undefined
      : Array.isArray(data)
        ? Buffer.concat(data).toString('utf8')
        : Buffer.from(data as Buffer).toString('utf8');
    const message = text === undefined ? undefined : parsePlayerMessage(text);
    if (!message) {
      this.#violation({
        code: 'EDGE_BAD_MESSAGE',
        message: 'signalling message is not valid JSON of a known type',
        closeCode: SignalCloseCodes.BAD_MESSAGE,
      });
      return;
    }
    this.emit('message', message);
  }

  #violation(failure: SessionFailure): void {
    this.emit('violation', failure);
  }
}
