import { type CreateSessionResponse, parseSessionEvent } from '../../protocol/playerApi.js';
import type { PlayerApi } from './api.js';
import type { SessionKey } from './SessionKey.js';

/** Options of a SessionWatch. */
export interface SessionWatchOptions {
  api: PlayerApi;
  /** The session watched (its id and the deployment its proofs name). */
  session: CreateSessionResponse;
  /** The session's key: each (re)opening of the socket carries a fresh signed 'watch' act. */
  key: SessionKey;
  /** The matchmaker moved the session to another edge (same key, new token). */
  onMoved: (session: CreateSessionResponse) => void;
  /** The matchmaker ended the session. */
  onEnded: (reason: string) => void;
  /** Delay before reopening a socket that worked and then dropped, ms (default 1000). */
  reopenMs?: number;
}

/**
 * Watches the matchmaker's events socket of one session (`/v1/sessions/:id/events?proof=…`): `moved`
 * (the new session's token, which only the session key may pick up) and `ended`. A socket that opened
 * and then dropped is reopened with a new proof; one that never opened (a refusal, or an API without
 * the socket) is not retried. `close()` is idempotent.
 */
export class SessionWatch {
  readonly #options: SessionWatchOptions;
  #socket: WebSocket | undefined;
  #reopenTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(options: SessionWatchOptions) {
    this.#options = options;
    void this.#open();
  }

  /** The session id watched. */
  get sessionId(): string {
    return this.#options.session.sessionId;
  }

  /** Stops watching (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#reopenTimer);
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket !== undefined) {
      socket.onclose = null;
      socket.onmessage = null;
      socket.close(1000);
    }
  }

  async #open(): Promise<void> {
    const { api, session, key } = this.#options;
    let socket: WebSocket;
    try {
      const proof = await key.signAct('watch', session);
      if (this.#closed) return;
      socket = new WebSocket(api.sessionEventsUrl(session.sessionId, proof));
    } catch {
      return;
    }
    this.#socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
    };
    socket.onmessage = (message) => {
      const event = parseSessionEvent(message.data);
      if (event === undefined || this.#closed) return;
      if (event.type === 'moved') this.#options.onMoved(event.session);
      else this.#options.onEnded(event.reason);
    };
    socket.onclose = () => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      if (opened && !this.#closed) {
        this.#reopenTimer = setTimeout(() => void this.#open(), this.#options.reopenMs ?? 1000);
      }
    };
  }
}
