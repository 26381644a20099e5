import type { BaseLogger } from 'pino';
import type { SessionEvent } from '../protocol/playerApi.js';
import type { MatchmakerStore, StoreEvent } from './store/MatchmakerStore.js';

/** Delivers session events published by any matchmaker instance (through the store) to local listeners. */
export class SessionEvents {
  readonly #log: BaseLogger;
  readonly #listeners = new Map<string, Set<(event: SessionEvent) => void>>();
  readonly #unsubscribe: () => void;
  #closed = false;

  constructor(store: MatchmakerStore, log: BaseLogger) {
    this.#log = log;
    this.#unsubscribe = store.subscribe((e) => this.#deliver(e));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Listens for events of one session; returns the unsubscribe function. A throwing listener is logged. */
  on(sessionId: string, listener: (event: SessionEvent) => void): () => void {
    if (this.#closed) return () => {};
    let set = this.#listeners.get(sessionId);
    if (!set) {
      set = new Set();
      this.#listeners.set(sessionId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.#listeners.get(sessionId) === set) this.#listeners.delete(sessionId);
    };
  }

  #deliver(e: StoreEvent): void {
    const set = this.#listeners.get(e.sessionId);
    if (!set) return;
    for (const listener of set) {
      try {
        listener(e.event);
      } catch (error) {
        this.#log.warn({ err: error }, 'session event listener failed');
      }
    }
  }

  /** Unsubscribes from the store and drops every listener. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    this.#listeners.clear();
  }
}
