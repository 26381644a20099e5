import { priceMultiplier } from './priceMultiplier.js';
import type { EdgeState } from './store/MatchmakerStore.js';

/**
 * Regional prices: counts the demand this instance sees (flushed to the store at each refresh) and
 * holds the multipliers computed from all instances' demand and the free slots of each region.
 */
export class Pricing {
  #multipliers = new Map<string, number>();
  #pendingDemand: Record<string, number> = {};

  /** Counts `n` requests in `region` (flushed by `takeDemand`). */
  countDemand(region: string, n = 1): void {
    this.#pendingDemand[region] = (this.#pendingDemand[region] ?? 0) + n;
  }

  /** Takes the demand counted since the last call; give it back with `restoreDemand` if its write fails. */
  takeDemand(): Record<string, number> {
    const demand = this.#pendingDemand;
    this.#pendingDemand = {};
    return demand;
  }

  /** Counts demand again whose store write failed, so the next flush carries it. */
  restoreDemand(demand: Record<string, number>): void {
    for (const [region, n] of Object.entries(demand)) this.countDemand(region, n);
  }

  /** Recomputes every region's multiplier from its requests over `windowMs` and its free slots. */
  update(free: ReadonlyMap<string, number>, requests: Record<string, number>, windowMs: number): void {
    this.#multipliers = new Map(
      [...free.keys()].map((r) => [r, priceMultiplier(requests[r] ?? 0, free.get(r) ?? 0, windowMs)]),
    );
  }

  /** Price multiplier of a region (1 when supply meets demand). */
  multiplier(region: string): number {
    return this.#multipliers.get(region) ?? 1;
  }

  /** An edge's price per minute after its region's multiplier, ATH wei (decimal string). */
  price(e: EdgeState): string {
    const m = this.multiplier(e.edge.region);
    return ((BigInt(e.edge.pricePerMinute) * BigInt(Math.round(m * 100))) / 100n).toString();
  }
}

/** Free slots of an edge: the matchmaker's count (reservations included) rules; one that says it is full has none. */
export function freeSlots(e: EdgeState): number {
  if (e.load && e.load.freeSlots <= 0) return 0;
  return e.edge.capacity - e.usedSlots;
}
