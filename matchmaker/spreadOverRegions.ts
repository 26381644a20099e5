import type { EdgeState } from './store/MatchmakerStore.js';

/**
 * Probe targets for a player with no location at all: round-robin over regions in random order, the
 * least loaded edges of each first, so the probes discover where the player is.
 */
export function spreadOverRegions(
  pool: readonly EdgeState[],
  limit: number,
  random: () => number,
): EdgeState[] {
  const byRegion = new Map<string, EdgeState[]>();
  for (const e of pool) {
    const list = byRegion.get(e.edge.region) ?? [];
    list.push(e);
    byRegion.set(e.edge.region, list);
  }
  const queues = [...byRegion.values()].map((list) =>
    list
      .map((state) => ({ state, key: utilisation(state) + random() * 0.1 }))
      .sort((a, b) => a.key - b.key)
      .map((x) => x.state),
  );
  for (let i = queues.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [queues[i], queues[j]] = [queues[j] as EdgeState[], queues[i] as EdgeState[]];
  }
  const out: EdgeState[] = [];
  for (let round = 0; out.length < limit; round++) {
    let added = false;
    for (const q of queues) {
      const e = q[round];
      if (e && out.length < limit) {
        out.push(e);
        added = true;
      }
    }
    if (!added) break;
  }
  return out;
}

function utilisation(e: EdgeState): number {
  return e.edge.capacity > 0 ? e.usedSlots / e.edge.capacity : 1;
}
