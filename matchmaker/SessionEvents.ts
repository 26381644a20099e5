import type { BaseLogger } from 'pino';
import type { SessionEvent } from '../protocol/playerApi.js';
import { TypedEmitter } from '../protocol/TypedEmitter.js';
import type { MatchmakerStore } from './store/MatchmakerStore.js';

/** Delivers session events published by any matchmaker instance (through the store) to local listeners. */
export class SessionEvents {
  /** One event name per session id. */
  readonly #emitter: TypedEmitter<Record<string, [SessionEvent]>>;
  readonly #unsubscribe: () => void;
  #closed = false;

  constructor(store: MatchmakerStore, log: BaseLogger) {
    this.#emitter = new TypedEmitter({
      onListenerError: (error) => log.warn({ err: error }, 'session event listener failed'),
    });
    this.#unsubscribe = store.subscribe((e) => {
      this.#emitter.emit(e.sessionId, e.event);
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Listens for events of one session; returns the unsubscribe function. A throwing listener is logged. */
  on(sessionId: string, listener: (event: SessionEvent) => void): () => void {
    if (this.#closed) return () => {};
    return this.#emitter.on(sessionId, listener);
  }

  /** Unsubscribes from the store and drops every listener. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    this.#emitter.removeAllListeners();
  }
}
