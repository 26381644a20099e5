import { FarplayError } from '../protocol/errors.js';

import type { StakeReader } from './chainStakeReader.js';

export interface StakeGateOptions {
  /** Reads the chain (`chainStakeReader`). */
  read: StakeReader;
  /** How long an answer is trusted before it is read again, ms. */
  ttlMs: number;
  /** Clock (default Date.now). */
  now?: () => number;
}

interface Entry {
  active: boolean;
  readAt: number;
}

/**
 * Only accountable edges get players: the StakingRegistry's `isActive(edge)` answer per edge, cached for
 * `ttlMs` and re-read in the background (`recheck`). Registration waits for a fresh answer (`require`);
 * allocation reads the cache (`active`), so an edge slashed below the minimum leaves allocation at the
 * next re-check. A chain that does not answer keeps the last answer until it does (an edge never seen is
 * refused: CHAIN_UNAVAILABLE).
 */
export class StakeGate {
  readonly #read: StakeReader;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, Entry>();
  readonly #pending = new Map<string, Promise<boolean>>();

  constructor(options: StakeGateOptions) {
    this.#read = options.read;
    this.#ttlMs = options.ttlMs;
    this.#now = options.now ?? Date.now;
  }

  /** Throws MM_EDGE_NOT_STAKED unless `edgeId` is active on chain (read now unless cached and fresh). */
  async require(edgeId: string): Promise<void> {
    const id = edgeId.toLowerCase();
    const cached = this.#cache.get(id);
    const active = cached?.active && this.#now() - cached.readAt < this.#ttlMs ? true : await this.#fetch(id);
    if (!active) {
      throw new FarplayError(
        'MM_EDGE_NOT_STAKED',
        `edge ${id} has no active stake in the staking registry: stake at least the minimum (farplay-edge stake)`,
      );
    }
  }

  /** The last answer for `edgeId` (false if never read). */
  active(edgeId: string): boolean {
    return this.#cache.get(edgeId.toLowerCase())?.active ?? false;
  }

  /** Re-reads every id in `edgeIds` whose answer is older than the TTL; resolves when done (errors kept quiet). */
  async recheck(edgeIds: Iterable<string>): Promise<void> {
    const now = this.#now();
    const due: Promise<unknown>[] = [];
    for (const raw of edgeIds) {
      const id = raw.toLowerCase();
      const cached = this.#cache.get(id);
      if (!cached || now - cached.readAt >= this.#ttlMs) due.push(this.#fetch(id).catch(() => {}));
    }
    await Promise.all(due);
  }

  /** Drops what is cached for edges no longer live. */
  retain(edgeIds: ReadonlySet<string>): void {
    for (const id of this.#cache.keys()) if (!edgeIds.has(id)) this.#cache.delete(id);
  }

  #fetch(id: string): Promise<boolean> {
    let p = this.#pending.get(id);
    if (!p) {
      p = this.#read(id)
        .then(
          (active) => {
            this.#cache.set(id, { active, readAt: this.#now() });
            return active;
          },
          (error: unknown) => {
            const cached = this.#cache.get(id);
            if (cached) return cached.active;
            throw new FarplayError('CHAIN_UNAVAILABLE', 'the staking chain did not answer', {
              cause: error,
            });
          },
        )
        .finally(() => this.#pending.delete(id));
      this.#pending.set(id, p);
    }
    return p;
  }
}
