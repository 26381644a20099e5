/** Event name → listener argument tuple, e.g. `{ ended: [reason: string, code: number] }`. */
export type EventMap = { [event: string]: unknown[] };

/** Options of a TypedEmitter. */
export interface TypedEmitterOptions {
  /**
   * Called when a listener throws (or its promise rejects); the error never reaches the emitter's caller, so a
   * bad listener cannot crash a media loop or a timer. Default: ignore.
   */
  onListenerError?: (error: unknown, event: string) => void;
}

/**
 * A small typed event emitter that runs in Node and in the browser. `emit` is safe: every listener runs even
 * if an earlier one throws, and the error goes to `onListenerError` instead of the caller.
 */
export class TypedEmitter<Events extends EventMap> {
  readonly #listeners = new Map<keyof Events, Set<(...args: never[]) => unknown>>();
  readonly #onListenerError: ((error: unknown, event: string) => void) | undefined;

  constructor(options: TypedEmitterOptions = {}) {
    this.#onListenerError = options.onListenerError;
  }

  /** Adds `listener`; returns a function that removes it. */
  on<K extends keyof Events>(event: K, listener: (...args: Events[K]) => unknown): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as (...args: never[]) => unknown);
    return () => this.off(event, listener);
  }

  /** Adds `listener` for the next `event` only; returns a function that removes it. */
  once<K extends keyof Events>(event: K, listener: (...args: Events[K]) => unknown): () => void {
    const off = this.on(event, (...args: Events[K]) => {
      off();
      return listener(...args);
    });
    return off;
  }

  /** Removes `listener` from `event`. */
  off<K extends keyof Events>(event: K, listener: (...args: Events[K]) => unknown): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    set.delete(listener as (...args: never[]) => unknown);
    if (set.size === 0) this.#listeners.delete(event);
  }

  /** Resolves with the arguments of the next `event`. */
  next<K extends keyof Events>(event: K): Promise<Events[K]> {
    return new Promise((resolve) => {
      this.once(event, (...args: Events[K]) => resolve(args));
    });
  }

  /** Calls every listener of `event` with `args`; returns whether there was one. Never throws. */
  emit<K extends keyof Events>(event: K, ...args: Events[K]): boolean {
    const set = this.#listeners.get(event);
    if (!set || set.size === 0) return false;
    for (const listener of [...set]) {
      try {
        const result = (listener as (...a: Events[K]) => unknown)(...args);
        if (result instanceof Promise) result.catch((error: unknown) => this.#report(error, event));
      } catch (error) {
        this.#report(error, event);
      }
    }
    return true;
  }

  /** How many listeners `event` has. */
  listenerCount<K extends keyof Events>(event: K): number {
    return this.#listeners.get(event)?.size ?? 0;
  }

  /** Removes every listener (of `event`, or of all events). */
  removeAllListeners<K extends keyof Events>(event?: K): void {
    if (event === undefined) this.#listeners.clear();
    else this.#listeners.delete(event);
  }

  #report(error: unknown, event: keyof Events): void {
    try {
      this.#onListenerError?.(error, String(event));
    } catch {
      // The error reporter itself failed; there is nowhere left to send it.
    }
  }
}
