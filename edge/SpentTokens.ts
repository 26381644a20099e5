/**
 * Session tokens already used on this edge (issue 8: a token works once). A token is spent when its session
 * is admitted and stays spent until it could no longer pass verification anyway (its expiry plus the clock
 * skew verification tolerates, with a margin), so a token reused after its session ended — or by someone who
 * copied it — is refused with `EDGE_TOKEN_USED`. In memory: after an edge restart a token still within its
 * short lifetime (`tokenTtlS`, 30 s by default) could be used once more.
 */
export class SpentTokens {
  /** Session id → unix ms until which it stays spent. */
  readonly #spent = new Map<string, number>();
  readonly #marginMs: number;
  #nextSweep = 0;

  /** `marginMs`: how long past `exp` a token is remembered (default 60 s, above any verification skew). */
  constructor(marginMs = 60_000) {
    this.#marginMs = marginMs;
  }

  /** How many tokens are remembered. */
  get size(): number {
    return this.#spent.size;
  }

  /** True when the token of session `sid` was used before (and is still remembered). */
  has(sid: string, now: number = Date.now()): boolean {
    const until = this.#spent.get(sid);
    return until !== undefined && until > now;
  }

  /** Marks the token of `sid` (expiring at `expSeconds`, unix s) used; forgets tokens long expired. */
  spend(sid: string, expSeconds: number, now: number = Date.now()): void {
    this.#spent.set(sid, expSeconds * 1000 + this.#marginMs);
    if (now < this.#nextSweep) return;
    this.#nextSweep = now + 1000;
    for (const [id, until] of this.#spent) if (until <= now) this.#spent.delete(id);
  }
}
