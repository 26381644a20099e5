import { HELD_KEY_REPEAT_MS } from './input.js';

/**
 * The player's side of held keys: while keys are held, re-sends a keyDown for each every `periodMs`
 * (HELD_KEY_REPEAT_MS), so an edge that lost the keyUp releases the key on its own (HELD_KEY_RELEASE_MS)
 * and one that did not keeps it held. The timer runs only while a key is held. `close()` is idempotent.
 */
export class HeldKeyHeartbeat {
  readonly #held = new Set<number>();
  readonly #send: (key: number) => void;
  readonly #periodMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** `send(key)` sends one keyDown refresh for key id `key`. */
  constructor(send: (key: number) => void, periodMs = HELD_KEY_REPEAT_MS) {
    this.#send = send;
    this.#periodMs = periodMs;
  }

  /** Key ids held now. */
  get held(): number[] {
    return [...this.#held];
  }

  /** A key went down (its first keyDown is the caller's to send). */
  down(key: number): void {
    this.#held.add(key);
    this.#timer ??= setInterval(() => {
      for (const k of this.#held) this.#send(k);
    }, this.#periodMs);
  }

  /** A key went up (its keyUp is the caller's to send). */
  up(key: number): void {
    this.#held.delete(key);
    if (this.#held.size === 0) this.#stop();
  }

  /** Forgets every held key and stops the timer; idempotent. */
  close(): void {
    this.#held.clear();
    this.#stop();
  }

  #stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
