/** Options of a RateBuckets. */
export interface RateBucketsOptions {
  /** Takes allowed per key and window. */
  max: number;
  windowMs: number;
  /** Keys remembered in one window before the window is restarted (bounds memory; default 100 000). */
  maxKeys?: number;
}

/**
 * Fixed-window counters per key (a client address, an edge address): `take` counts one and says whether the
 * key is still within `max` for the current window. In process memory, bounded by `maxKeys`. Shared by the
 * matchmaker (edge messages per edge address, WebSocket upgrades per address) and the edge (upgrades).
 */
export class RateBuckets {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #maxKeys: number;
  #counts = new Map<string, number>();
  #windowEnds = 0;

  constructor(options: RateBucketsOptions) {
    this.#max = options.max;
    this.#windowMs = options.windowMs;
    this.#maxKeys = options.maxKeys ?? 100_000;
  }

  /** Counts one for `key`; false when that is over `max` in this window (the key is then refused). */
  take(key: string, now: number = Date.now()): boolean {
    this.#roll(now);
    const n = (this.#counts.get(key) ?? 0) + 1;
    if (n > this.#max) return false;
    this.#counts.set(key, n);
    return true;
  }

  /** True when `key` has used up this window (without counting). */
  exhausted(key: string, now: number = Date.now()): boolean {
    this.#roll(now);
    return (this.#counts.get(key) ?? 0) >= this.#max;
  }

  /** Milliseconds until the current window ends (for `retry-after`). */
  retryAfterMs(now: number = Date.now()): number {
    return Math.max(0, this.#windowEnds - now);
  }

  #roll(now: number): void {
    if (now >= this.#windowEnds || this.#counts.size >= this.#maxKeys) {
      this.#counts = new Map();
      this.#windowEnds = now + this.#windowMs;
    }
  }
}
