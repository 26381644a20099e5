import type { Coordinate } from './coordinates.js';
import { type EdgeIndex, type EdgeView, gridCell } from './EdgeIndex.js';
import type { EdgeState } from './store/MatchmakerStore.js';

/** What a ranking asks of the index. */
export interface RankEdgesQuery {
  /** Per view: only edges where this is 1 (e.g. those running the game); null = every edge. */
  mask: Uint8Array | null;
  /** Lower-case edge id never returned (the edge a session is moving away from). */
  exclude?: string | undefined;
  /** RTTs the player measured, by lower-case edge id. */
  measured: ReadonlyMap<string, number>;
  /** The player's network coordinate; without it unmeasured edges score 1000 ms. */
  player: Coordinate | undefined;
  /** How many edges to return. */
  take: number;
  /** Randomness for the tie-break. */
  random: () => number;
  /**
   * Visit every edge instead of walking the spatial index outwards (same result, linear cost): the reference
   * the index is checked against, and the bench's comparison.
   */
  fullScan?: boolean;
}

/** One ranked edge; lower scores are better. */
export interface RankedEdge {
  state: EdgeState;
  score: number;
}

/** RTTs within about this many ms count as a tie, broken by load, price and a little randomness. */
export const TIE_MS = 2;
/** The tie-break adds less than this to the RTT: TIE_MS × (utilisation ≤ 1, + 0.5 × price ratio ≤ 2, + U(0,1) < 1). */
const MAX_TIE_MS = TIE_MS * 4;

/**
 * The best `take` edges with a free slot for one player, best first. Score: the measured RTT, else the
 * predicted RTT plus its uncertainty (`predictionScore` in coordinates.ts, spelled out here), then
 * within about TIE_MS: utilisation, price over the index's mean price (capped at 4) and randomness.
 * Candidates and allocation both rank with this; eligibility is the index's `usable` and `full` flags,
 * the query's `mask` and `exclude`.
 */
export function rankEdges(index: EdgeIndex, query: RankEdgesQuery): RankedEdge[] {
  const { mask, measured, player, take, random, exclude, fullScan = false } = query;
  const views = index.views;
  const flat = index.flat;
  const usable = index.usable;
  const full = index.full;
  const n = views.length;
  if (n === 0 || take <= 0) return [];
  const px = player?.v[0] ?? 0;
  const py = player?.v[1] ?? 0;
  const pz = player?.v[2] ?? 0;
  const ph = player?.h ?? 0;
  const pe = player?.e ?? 1;
  const scratch = index.scratch;
  scratch.generation = (scratch.generation + 1) >>> 0 || 1;
  const generation = scratch.generation;
  const { stamp, measuredRtt, rtts, visited } = scratch;
  for (const [id, rttMs] of measured) {
    const i = index.indexOf(id);
    if (i !== undefined) {
      stamp[i] = generation;
      measuredRtt[i] = rttMs;
    }
  }
  // Pass 1 (typed arrays only): the RTT term of the edges that may compete, and the take-th smallest
  // RTT among eligible edges with room (`kth`). The tie-break adds < MAX_TIE_MS, so an edge whose RTT
  // exceeds kth + MAX_TIE_MS can never be among the best `take`. Measured edges are taken first; with
  // a player coordinate, predicted ones are visited outwards from the player through the index's grid:
  // the distance to a ring of cells + heights is a lower bound of the prediction, so the walk stops once
  // the bound passes kth + MAX_TIE_MS (usually after a few rings). Without a coordinate every edge is
  // visited. Exact: the edges that reach pass 2 are the same as with a full scan.
  if (scratch.kth.length < take) scratch.kth = new Float64Array(take);
  const kth = scratch.kth.fill(Number.POSITIVE_INFINITY, 0, take);
  const excluded = exclude === undefined ? -1 : (index.indexOf(exclude) ?? -1);
  let count = 0;
  // (No closures here: a closure per call costs more than the loop it would shorten.)
  if (player) {
    for (const [id] of measured) {
      const i = index.indexOf(id);
      if (i === undefined || stamp[i] !== generation || usable[i] === 0 || (mask !== null && mask[i] === 0))
        continue;
      const rtt = measuredRtt[i] as number; // ids are unique (lower-cased map keys)
      rtts[i] = rtt;
      visited[count++] = i;
      if (rtt < (kth[take - 1] as number) && full[i] === 0 && i !== excluded) insertKth(kth, take, rtt);
    }
    // Rings of grid cells at growing Chebyshev distance r from the player's cell. Every cell of ring r lies
    // outside the block of rings < r, so its edges are at least as far as that block's nearest face: with
    // the heights that bounds the prediction from below, and the walk stops once the bound passes
    // kth + MAX_TIE_MS (or, with `fullScan`, visits every ring).
    const { cells, min, size, start, items } = index.grid;
    const cx = gridCell(px, 0, min, size, cells);
    const cy = gridCell(py, 1, min, size, cells);
    const cz = gridCell(pz, 2, min, size, cells);
    const rings = Math.max(cx, cells - 1 - cx, cy, cells - 1 - cy, cz, cells - 1 - cz);
    const base = ph + index.hMin;
    const sx = size[0] as number;
    const sy = size[1] as number;
    const sz = size[2] as number;
    const ox = px - (min[0] as number);
    const oy = py - (min[1] as number);
    const oz = pz - (min[2] as number);
    for (let r = 0; r <= rings; r++) {
      if (r > 0 && !fullScan) {
        // Distance from the player to the outside of the block of cells c − (r − 1) … c + (r − 1).
        const d = Math.max(
          0,
          Math.min(
            ox - (cx - r + 1) * sx,
            (cx + r) * sx - ox,
            oy - (cy - r + 1) * sy,
            (cy + r) * sy - oy,
            oz - (cz - r + 1) * sz,
            (cz + r) * sz - oz,
          ),
        );
        const q = d + base;
        // Lower bound of every remaining edge's RTT term (a hair under, for rounding).
        const bound = (q + Math.max(5, 0.3 * q)) * (1 - 1e-9) - 1e-9;
        if (bound > (kth[take - 1] as number) + MAX_TIE_MS) break;
      }
      const x0 = Math.max(0, cx - r);
      const x1 = Math.min(cells - 1, cx + r);
      const y0 = Math.max(0, cy - r);
      const y1 = Math.min(cells - 1, cy + r);
      for (let gx = x0; gx <= x1; gx++) {
        const edgeX = gx === cx - r || gx === cx + r;
        for (let gy = y0; gy <= y1; gy++) {
          const onShell = edgeX || gy === cy - r || gy === cy + r;
          // Inside the ring's x/y frame only the two z faces belong to ring r.
          const zStep = onShell || r === 0 ? 1 : 2 * r;
          for (let gz = cz - r; gz <= cz + r; gz += zStep) {
            if (gz < 0 || gz >= cells) continue;
            const cell = (gx * cells + gy) * cells + gz;
            const end = start[cell + 1] as number;
            for (let k = start[cell] as number; k < end; k++) {
              const i = items[k] as number;
              if (usable[i] === 0 || (mask !== null && mask[i] === 0) || stamp[i] === generation) continue;
              const o = i * 5;
              const dx = px - (flat[o] as number);
              const dy = py - (flat[o + 1] as number);
              const dz = pz - (flat[o + 2] as number);
              const predicted = Math.sqrt(dx * dx + dy * dy + dz * dz) + ph + (flat[o + 3] as number);
              const e = flat[o + 4] as number;
              const rtt = predicted + Math.max(5, predicted * Math.max(0.3, Math.min(1, (pe + e) / 2)));
              rtts[i] = rtt;
              visited[count++] = i;
              if (rtt < (kth[take - 1] as number) && full[i] === 0 && i !== excluded)
                insertKth(kth, take, rtt);
            }
          }
        }
      }
    }
  } else {
    for (let i = 0; i < n; i++) {
      if (usable[i] === 0 || (mask !== null && mask[i] === 0)) continue;
      const rtt = stamp[i] === generation ? (measuredRtt[i] as number) : 1000;
      rtts[i] = rtt;
      visited[count++] = i;
      if (rtt < (kth[take - 1] as number) && full[i] === 0 && i !== excluded) insertKth(kth, take, rtt);
    }
  }
  const cutoff = (kth[take - 1] as number) + MAX_TIE_MS;
  // Keep the visited edges under the cutoff, in view order as a full scan would (ties keep their order).
  let kept = 0;
  for (let c = 0; c < count; c++) {
    const i = visited[c] as number;
    if ((rtts[i] as number) <= cutoff) visited[kept++] = i;
  }
  count = kept;
  if (player) visited.subarray(0, count).sort();
  // Pass 2: score the edges under the cutoff.
  const meanPrice = index.meanPrice;
  const best: RankedEdge[] = [];
  let worst = Number.POSITIVE_INFINITY;
  for (let c = 0; c < count; c++) {
    const i = visited[c] as number;
    const rtt = rtts[i] as number;
    // Tie-break terms are ≥ 0: an RTT above the cutoff or the current worst cannot enter.
    if (rtt > cutoff || rtt > worst) continue;
    const view = views[i] as EdgeView;
    const state = view.state;
    if (state.usedSlots >= state.edge.capacity || i === excluded) continue;
    const price = Math.min(4, view.price / meanPrice);
    const score = rtt + TIE_MS * (state.usedSlots / (state.edge.capacity || 1) + 0.5 * price + random());
    worst = keepBest(best, take, state, score, worst);
  }
  return best;
}

/**
 * Keeps the best `take` in `best`, a small array sorted by ascending score (cheaper than sorting
 * thousands of edges); returns the score a later edge must beat (+∞ until `best` is full).
 */
function keepBest(best: RankedEdge[], take: number, state: EdgeState, score: number, worst: number): number {
  if (best.length >= take && score >= worst) return worst;
  let k = best.length;
  while (k > 0 && (best[k - 1] as RankedEdge).score > score) k--;
  best.splice(k, 0, { state, score });
  if (best.length > take) best.pop();
  return best.length >= take ? (best[best.length - 1] as RankedEdge).score : Number.POSITIVE_INFINITY;
}

/** Inserts `rtt` into the ascending `take` smallest values kept in `kth` (rtt < kth[take − 1]). */
function insertKth(kth: Float64Array, take: number, rtt: number): void {
  let k = take - 1;
  while (k > 0 && (kth[k - 1] as number) > rtt) {
    kth[k] = kth[k - 1] as number;
    k--;
  }
  kth[k] = rtt;
}
